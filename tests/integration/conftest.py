from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from support.inprocess import System, running_system


@pytest.fixture
async def system(shared_databases: dict[str, str]) -> AsyncIterator[System]:
    async with running_system(shared_databases) as running:
        yield running
