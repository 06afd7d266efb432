"""`make run`'s supervisor on the embedded defaults: no PostgreSQL, SQLite under var/."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

DEVSTACK = str(Path(sys.executable).with_name("alooba-devstack"))


def test_devstack_starts_on_sqlite_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    # No DATABASE_URL, TEST_DATABASE_URL or key in the environment: a fresh machine.
    env = {
        key: value
        for key, value in os.environ.items()
        if "DATABASE_URL" not in key and key != "KEY_ENCRYPTION_KEY"
    }
    var = tmp_path / "var"
    process = subprocess.Popen(
        [DEVSTACK, "--var", str(var), "--free-ports"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    output: list[str] = []
    gateway = console = None
    for line in process.stdout:
        output.append(line)
        if match := re.search(r"Gateway:\s+(http://\S+?)/v1/greenhouse/", line):
            gateway = match.group(1)
        if match := re.search(r"Console:\s+(http://\S+?)/ ", line):
            console = match.group(1)
        if "Press Ctrl-C" in line:
            break
    assert gateway is not None, "".join(output)
    assert console is not None, "".join(output)
    for url in (f"{gateway}/readyz", f"{console}/readyz"):
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310
            assert response.status == 200
    assert "alooba-gh user invite --org" in "".join(output)
    assert sorted(path.name for path in var.glob("*.db")) == [
        "assessments.db",
        "candidates.db",
        "console.db",
        "harvest-sync.db",
    ]
    assert (var / "key-encryption-key").stat().st_mode & 0o077 == 0

    process.send_signal(signal.SIGINT)
    rest, _ = process.communicate(timeout=60)
    assert process.returncode == 0, rest
    for service in ("take", "console", "gateway", "assessments", "harvest-sync", "candidates"):
        assert f"{service}: exited 0" in rest
