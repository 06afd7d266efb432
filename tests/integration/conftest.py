from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from integration.helpers import Tenant, new_tenant
from support.inprocess import System, running_system


@pytest.fixture
async def system(shared_databases: dict[str, str]) -> AsyncIterator[System]:
    async with running_system(shared_databases) as running:
        yield running


@pytest.fixture
async def tenant(system: System) -> Tenant:
    """An organization of its own, with an active partner key and one active test."""
    return await new_tenant(system)
