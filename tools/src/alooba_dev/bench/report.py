"""The figures: percentiles, table rows, the printed table and the JSON document.

Pure functions on plain data, so they are cheap to unit-test and shared by `make bench`
and `make faults`.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import platform
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0 <= q <= 100) by the nearest-rank method: a value that was
    actually observed, never an interpolation. NaN for no samples."""
    if not 0 <= q <= 100:
        raise ValueError("q must be between 0 and 100")
    if not samples:
        return math.nan
    ordered = sorted(samples)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the table. `ratio` is value / floor for throughput rows; `target`
    is the goal as text (">= 0.5 x floor", "< 50 ms") and `ok` whether it was met
    (None: no target)."""

    section: str
    metric: str
    value: float
    unit: str
    ratio: float | None = None
    target: str | None = None
    ok: bool | None = None


def _number(number: float) -> str:
    value = float(number)
    if math.isnan(value):
        return "-"
    if value >= 100 or value.is_integer():
        return f"{value:,.0f}"
    return f"{value:.2f}" if value >= 1 else f"{value:.3f}"


def render_table(rows: Iterable[Row]) -> str:
    """A fixed-width text table, one row per figure, sections separated by their name."""
    header = ("section", "metric", "value", "unit", "x floor", "target", "met")
    lines: list[tuple[str, ...]] = [header]
    for row in rows:
        lines.append(
            (
                row.section,
                row.metric,
                _number(row.value),
                row.unit,
                f"{row.ratio:.2f}" if row.ratio is not None else "",
                row.target or "",
                {True: "yes", False: "NO", None: ""}[row.ok],
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    right = {2, 4}  # numbers line up on the right

    def fmt(line: tuple[str, ...]) -> str:
        cells = [
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(line)
        ]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * width for width in widths)
    out = [fmt(lines[0]), rule]
    previous = None
    for line in lines[1:]:
        if previous is not None and line[0] != previous:
            out.append("")
        out.append(fmt(line))
        previous = line[0]
    return "\n".join(out)


def render_fault_table(rows: Iterable[Mapping[str, Any]]) -> str:
    """The `make faults` table: fault, operations, lost, duplicated."""
    header = ("fault", "operations", "lost", "duplicated")
    lines = [header] + [
        (str(r["fault"]), str(r["operations"]), str(r["lost"]), str(r["duplicated"])) for r in rows
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for index, line in enumerate(lines):
        out.append(
            "  ".join(
                cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
                for i, cell in enumerate(line)
            ).rstrip()
        )
        if index == 0:
            out.append("  ".join("-" * width for width in widths))
    return "\n".join(out)


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass  # not Linux: platform's answer stands
    ram_bytes = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_bytes = int(line.split()[1]) * 1024
                break
    except OSError:
        pass  # not Linux: RAM unknown
    return {
        "cpu_model": cpu,
        "cores": os.cpu_count(),
        "ram_gib": round(ram_bytes / 2**30, 1) if ram_bytes else None,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "os": platform.platform(),
    }


def git_commit(cwd: Path | None = None) -> dict[str, Any]:
    """The commit measured, and whether the working tree had changes on top of it."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(  # noqa: S603 - fixed arguments
                ["git", *args],  # noqa: S607 - git from PATH, as make uses it
                cwd=cwd,
                capture_output=True,
                text=True,
                timeout=10,
                check=True,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip()

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def document(
    rows: Sequence[Row],
    *,
    settings: Mapping[str, Any],
    started: dt.datetime,
    extra: Mapping[str, Any] | None = None,
    repo: Path | None = None,
) -> dict[str, Any]:
    """The JSON written to bench/results/latest.json."""
    return {
        "date": started.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "git": git_commit(repo),
        "machine": machine(),
        "settings": dict(settings),
        "rows": [_clean(asdict(row)) for row in rows],
        **(dict(extra) if extra else {}),
    }


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    # JSON has no NaN: a figure that could not be measured is null.
    return {
        key: (None if isinstance(value, float) and math.isnan(value) else value)
        for key, value in row.items()
    }


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


# The README's figures table: one line per path, what `make bench` measured.
README_PATHS = (
    ("floor", "floor"),
    ("send_test", "`send_test`"),
    ("test_status", "`test_status`"),
    ("webhook", "signed webhook (`reject_candidate`)"),
)
_TIMES = "\N{MULTIPLICATION SIGN}"
_CPU_OF = ("gateway", "assessments", "candidates", "rest of the machine")
_SQL_OF = ("assessments", "candidates")


def _mark(row: Row) -> str:
    return {True: " ✓", False: " ✗", None: ""}[row.ok]


def readme_table(rows: Sequence[Row], rate: float) -> str:
    """The README's figures table as Markdown, targets marked met (✓) or missed (✗)."""
    by_metric = {(row.section, row.metric): row for row in rows}

    def value(section: str, metric: str) -> Row | None:
        return by_metric.get((section, metric))

    def joined(section: str, prefix: str, names: Sequence[str]) -> str:
        found = [value(section, f"{prefix}{name}") for name in names]
        if not any(found):
            return ""
        return " / ".join(_number(row.value) if row else "-" for row in found)

    rate_text = f"{rate:g}"
    lines = [
        f"| | saturation | {_TIMES} floor (target) | p99 at {rate_text} req/s (target) "
        "| failed | CPU ms/request: gateway / assessments / candidates / rest "
        "| SQL statements/request: assessments / candidates "
        f"| wrk saturation ({_TIMES} wrk floor) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for section, label in README_PATHS:
        saturation = value(section, "saturation")
        if saturation is None:
            continue
        ratio = (
            f"{saturation.ratio:.2f} ({saturation.target.removeprefix('>= ').split()[0]})"
            f"{_mark(saturation)}"
            if saturation.ratio is not None and saturation.target
            else "1"
        )
        p99 = value(section, f"p99 @{rate_text}/s")
        p99_text = f"{_number(p99.value)} ms{_mark(p99)}" if p99 else ""
        failed = value(section, "failed requests")
        failed_text = f"{_number(failed.value)} ✗" if failed else "0"
        wrk_row = value(section, "saturation (wrk)")
        wrk_text = (
            f"{_number(wrk_row.value)} req/s"
            + (f" ({wrk_row.ratio:.2f})" if wrk_row.ratio is not None else "")
            if wrk_row
            else "-"
        )
        lines.append(
            f"| {label} | {_number(saturation.value)} req/s | {ratio} | {p99_text} "
            f"| {failed_text} | {joined(section, 'CPU per request: ', _CPU_OF)} "
            f"| {joined(section, 'SQL statements per request: ', _SQL_OF)} | {wrk_text} |"
        )
    return "\n".join(lines)
