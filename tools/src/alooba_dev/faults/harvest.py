"""SLOT: Harvest faults, for the harvest-sync service to fill in.

`harvest_faults(world)` returns the faults to add to the run, each a `Fault` (name and
an async `inject(world)` that breaks something, waits, and repairs it). The runner plays
each one during its own slice of the bulk flow, as the built-in faults are played, and
then checks what it always checks. To be added here once harvest-sync pushes scores:
Harvest answering 5xx, 429 (with Retry-After) and timing out (greenhouse_emulator's
Harvest API), and SIGKILL of harvest-sync (`world.kill_and_restart("harvest-sync")`);
plus, in `harvest_checks(world)`, rows proving every final result was written to
Harvest exactly once ("fault", "operations", "lost", "duplicated"), which the runner
appends to the table and counts in the exit status.
"""

from __future__ import annotations

from typing import Any

from alooba_dev.faults.world import Fault, World


def harvest_faults(world: World) -> list[Fault]:
    """Faults of the Harvest push; none until harvest-sync is built."""
    return []


async def harvest_checks(world: World) -> list[dict[str, Any]]:
    """Rows for the table once the flow has settled; none until harvest-sync is built."""
    return []
