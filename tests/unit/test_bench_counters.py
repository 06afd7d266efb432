"""The bench's readers of wrk's report and of db_statements_total, and the counter."""

from __future__ import annotations

import pytest
from prometheus_client import generate_latest
from sqlalchemy import text

from alooba_common.config import DatabaseSettings
from alooba_common.db import create_engine
from alooba_dev.bench.statements import parse_statements
from alooba_dev.bench.wrk import parse_output

WRK_REPORT = """Running 3s test @ http://127.0.0.1:8080/
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    12.07ms    3.21ms  40.12ms   80.00%
    Req/Sec     1.33k   120.00     1.50k    70.00%
  7995 requests in 3.00s, 1.20MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 5
Requests/sec:   2664.58
Transfer/sec:    410.00KB
"""


def test_wrk_report_is_read() -> None:
    assert parse_output(WRK_REPORT) == (2664.58, 7995, 5, 3)


def test_a_report_without_figures_is_refused() -> None:
    with pytest.raises(ValueError, match="not a wrk report"):
        parse_output("unable to connect to 127.0.0.1:8080 Connection refused")


def test_statements_sum_their_kinds() -> None:
    exposition = """# HELP db_statements_total SQL statements sent to the database, by kind.
# TYPE db_statements_total counter
db_statements_total{kind="statement"} 12.0
db_statements_total{kind="commit"} 3.0
db_statements_created{kind="statement"} 1.7e9
other_total 99.0
"""
    assert parse_statements(exposition) == 15.0


async def test_engines_count_their_statements(tmp_path: object) -> None:
    engine = create_engine(DatabaseSettings(url=f"sqlite:///{tmp_path}/count.db"))
    before = parse_statements(generate_latest().decode())
    async with engine.begin() as connection:
        await connection.execute(text("SELECT 1"))
        await connection.execute(text("SELECT 2"))
    await engine.dispose()
    # BEGIN IMMEDIATE, two SELECTs and the COMMIT.
    assert parse_statements(generate_latest().decode()) - before == 4


def test_readme_table_marks_targets_met_and_missed() -> None:
    from alooba_dev.bench.report import Row, readme_table

    rows = [
        Row("floor", "saturation", 4000.0, "req/s"),
        Row("floor", "saturation (wrk)", 5000.0, "req/s"),
        Row("send_test", "saturation", 500.0, "req/s", 0.125, ">= 0.25 x floor", False),
        Row("send_test", "p99 @200/s", 12.5, "ms", target="< 50 ms", ok=True),
        Row("send_test", "CPU per request: gateway", 0.5, "ms"),
        Row("send_test", "CPU per request: assessments", 2.0, "ms"),
        Row("send_test", "SQL statements per request: candidates", 4.0, "stmts"),
        Row("send_test", "failed requests", 3, "req", target="0", ok=False),
        Row("send_test", "saturation (wrk)", 600.0, "req/s", ratio=0.12),
    ]
    floor, send_test = readme_table(rows, 200.0).splitlines()[2:]
    assert floor.startswith("| floor | 4,000 req/s | 1 |")
    assert floor.endswith("| 5,000 req/s |")
    assert "| 0.12 (0.25) ✗ | 12.50 ms ✓ | 3 ✗ |" in send_test
    assert "| 0.500 / 2 / - / - | - / 4 | 600 req/s (0.12) |" in send_test
