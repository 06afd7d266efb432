from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from integration.helpers import Tenant, new_tenant
from support.clock import ManualClock
from support.inprocess import System, running_system


@pytest.fixture(scope="module")
def gateway_clock() -> ManualClock:
    """The clock of the module's gateway's authentication throttle."""
    return ManualClock()


@pytest.fixture(scope="module")
async def system(
    shared_databases: dict[str, str], gateway_clock: ManualClock
) -> AsyncIterator[System]:
    """One system for a module's tests: they isolate by tenant (each makes its own
    organization), as tenants do in production, so starting the services once per module
    saves a start and a stop per test. A module whose tests need a system of their own
    (other settings, or their own relay on the shared databases) uses running_system."""
    async with running_system(shared_databases, gateway_clock=gateway_clock) as running:
        yield running


@pytest.fixture(autouse=True)
def throttle_forgets_earlier_tests(gateway_clock: ManualClock) -> None:
    """The one thing the gateway remembers across tenants is failed authentication per
    client address (all tests call from 127.0.0.1): each test starts an hour later on the
    throttle's clock, with nothing left in its window, as on a system of its own."""
    gateway_clock.advance(3600)


@pytest.fixture
async def tenant(system: System) -> Tenant:
    """An organization of its own, with an active partner key and one active test."""
    return await new_tenant(system)
