"""SQL statements per request: each service's `db_statements_total` (alooba_common.db),
read from its metrics endpoint before and after a run."""

from __future__ import annotations

import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from alooba_dev.bench.report import Row
from alooba_dev.stack import Stack

SERVICES = ("assessments", "candidates")
METRIC = "db_statements_total"


def parse_statements(exposition: str) -> float:
    """The sum of db_statements_total over its kinds in a Prometheus text exposition."""
    total = 0.0
    for family in text_string_to_metric_families(exposition):
        if family.name in (METRIC, METRIC.removesuffix("_total")):
            total += sum(s.value for s in family.samples if s.name == METRIC)
    return total


def scrape(stack: Stack) -> dict[str, float]:
    """Statements sent so far by each database-backed service on the bench's path."""
    counts = {}
    for service in SERVICES:
        process = stack.processes.get(service)
        if process is None or process.poll() is not None:
            continue
        url = f"http://127.0.0.1:{stack.ports.metrics(service)}/metrics"
        with urllib.request.urlopen(url, timeout=10) as answer:
            counts[service] = parse_statements(answer.read().decode("utf-8"))
    return counts


def statement_rows(
    section: str, before: dict[str, float], after: dict[str, float], requests: int
) -> list[Row]:
    """Statements per request of each service (BEGIN and COMMIT included: each is a
    round trip to the database), over the `requests` answered between the two scrapes.
    Background work in the same window (the outbox relay) is counted too."""
    if requests <= 0:
        return []
    return [
        Row(
            section,
            f"SQL statements per request: {service}",
            (after[service] - before.get(service, 0.0)) / requests,
            "stmts",
        )
        for service in SERVICES
        if service in after
    ]
