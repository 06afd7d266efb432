"""The benchmark's figures: percentiles, the printed table and the JSON document."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import pytest

from alooba_dev.bench.report import Row, document, percentile, render_table, write_json


def test_percentile_is_an_observed_value_by_nearest_rank() -> None:
    samples = [float(n) for n in range(1, 101)]
    assert percentile(samples, 50) == 50.0
    assert percentile(samples, 99) == 99.0
    assert percentile(samples, 100) == 100.0
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0


def test_percentile_of_nothing_is_nan_and_q_out_of_range_is_refused() -> None:
    assert math.isnan(percentile([], 99))
    with pytest.raises(ValueError, match="between 0 and 100"):
        percentile([1.0], 101)


def test_table_shows_ratio_target_and_whether_it_was_met() -> None:
    table = render_table(
        [
            Row("floor", "saturation", 3000.0, "req/s"),
            Row("test_status", "saturation", 1200.0, "req/s", 0.4, ">= 0.5 x floor", False),
            Row("test_status", "p99 @200/s", 12.5, "ms", target="< 50 ms", ok=True),
        ]
    )
    lines = table.splitlines()
    assert lines[0].split()[:3] == ["section", "metric", "value"]
    assert any("1,200" in line and "0.40" in line and line.endswith("NO") for line in lines)
    assert any("12.50" in line and line.endswith("yes") for line in lines)
    assert "" in lines  # sections are separated


def test_json_document_records_date_machine_commit_and_no_nan(tmp_path: Path) -> None:
    rows = [Row("webhook", "p99 @200/s", float("nan"), "ms")]
    started = dt.datetime(2026, 11, 28, 20, 0, tzinfo=dt.UTC)
    data = document(rows, settings={"rate": 200}, started=started)
    write_json(tmp_path / "latest.json", data)
    loaded = json.loads((tmp_path / "latest.json").read_text())
    assert loaded["date"] == "2026-11-28T20:00:00Z"
    assert {"cpu_model", "cores", "ram_gib", "python"} <= loaded["machine"].keys()
    assert "commit" in loaded["git"]
    assert loaded["rows"][0]["value"] is None
