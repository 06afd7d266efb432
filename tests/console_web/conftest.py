from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import structlog
from integration.lifecycle_helpers import callbacks
from support.console import Console, running_console
from support.inprocess import System, running_system


@pytest.fixture
async def system(shared_databases: dict[str, str]) -> AsyncIterator[System]:
    with structlog.testing.capture_logs():
        async with running_system(shared_databases, **callbacks()) as running:
            yield running


@pytest.fixture
async def console(system: System, shared_databases: dict[str, str]) -> AsyncIterator[Console]:
    async with running_console(system, shared_databases["console"]) as running:
        yield running
