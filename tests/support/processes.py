"""The real service processes, for end-to-end tests, plus helpers to read their output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alooba_common.tls import Identity
from alooba_dev.stack import Stack

CLI = str(Path(sys.executable).with_name("alooba-gh"))


def cli(stack: Stack, *args: str) -> Any:
    """Runs `alooba-gh --json ...` against the stack; returns the parsed JSON output."""
    completed = subprocess.run(
        [CLI, "--json", *args],
        env={
            **os.environ,
            "ASSESSMENTS_ADDR": stack.address("assessments"),
            "CANDIDATES_ADDR": stack.address("candidates"),
            "HARVEST_SYNC_ADDR": stack.address("harvest-sync"),
            "TLS_DIR": str(stack.pki.folder(Identity.OPERATOR)),
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def log_lines(stack: Stack) -> list[str]:
    lines: list[str] = []
    for path in sorted((stack.var_dir / "log").glob("*.log")):
        lines.extend(path.read_text(errors="replace").splitlines())
    return lines


def json_log_records(stack: Stack, service: str) -> list[dict[str, Any]]:
    records = []
    for line in stack.log_path(service).read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


def metric_value(stack: Stack, service: str, name: str, labels: dict[str, str]) -> float:
    """A sample from the service's /metrics endpoint (0 when it is not there yet)."""
    url = f"http://127.0.0.1:{stack.ports.metrics(service)}/metrics"
    with urllib.request.urlopen(url, timeout=2) as response:
        text = response.read().decode()
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + " "):
            present: dict[str, str] = {}
        elif line.startswith(name + "{"):
            label_text = line[len(name) + 1 : line.index("}")]
            present = dict(part.split("=", 1) for part in label_text.split(","))
        else:
            continue
        if all(present.get(k) == f'"{v}"' for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def wait_until(
    condition: Callable[[], bool], timeout: float = 15.0, what: str = "condition"
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)
