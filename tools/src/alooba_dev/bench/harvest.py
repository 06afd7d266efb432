"""SLOT: the "harvest push" benchmark section, for the harvest-sync service to fill in.

The runner calls `harvest_push(context)` after the partner API sections, with the whole
system running (harvest-sync included, on its own fresh PostgreSQL database) and the
organization set up; the rows it returns are added to the table and to latest.json
under the section name it chooses. Returning [] (as now) leaves the section out.

What it will likely measure: final results pushed to Harvest custom fields per second
against greenhouse_emulator's Harvest API (rate limits on), and the time until a bulk of
results is all written. Start the Harvest emulator here, point harvest-sync at it
(context.stack.service_env before a restart of harvest-sync, or its connect RPC), use
`context.load(spec)` for HTTP load through the gateway if useful, and build rows with
`alooba_dev.bench.report.Row(section="harvest push", ...)`.
"""

from __future__ import annotations

from alooba_dev.bench.context import BenchContext
from alooba_dev.bench.report import Row


def harvest_push(context: BenchContext) -> list[Row]:
    """Rows of the harvest push section; none until harvest-sync is built."""
    return []
