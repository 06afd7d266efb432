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

from alooba_dev.stack import Stack, free_ports

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
    exports: dict[str, str] = {}
    for line in process.stdout:
        output.append(line)
        if match := re.fullmatch(r"export (\w+)=(\S+)\n", line):
            exports[match.group(1)] = match.group(2)
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
    # On free ports it says how to point alooba-gh at itself, and alooba-gh follows.
    assert exports["GATEWAY_URL"] == gateway
    created = subprocess.run(
        [str(Path(sys.executable).with_name("alooba-gh")), "--json", "org", "create", "Free"],
        env={**env, **exports},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert created.returncode == 0, created.stderr
    assert '"Free"' in created.stdout

    # A second stack on the same ports refuses to start, before starting anything.
    second = subprocess.run(
        [DEVSTACK, "--var", str(tmp_path / "var2"), "--http-port", gateway.rsplit(":", 1)[1]],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert second.returncode == 1
    assert "in use (another stack?)" in second.stderr
    assert "--free-ports" in second.stderr
    assert "The stack is up" not in second.stdout
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


def test_a_service_on_a_port_another_stack_serves_fails_instead_of_sharing_it(
    tmp_path: Path,
) -> None:
    first = Stack(var_dir=tmp_path / "a", ports=free_ports(), services=("candidates",))
    second = Stack(var_dir=tmp_path / "b", ports=first.ports, services=("candidates",))
    first.migrate()
    second.migrate()
    first.start_all()
    try:
        first.wait_ready(timeout=60)
        second.start_all()
        # The health port answers SERVING (the first stack's), but not from the process the
        # second stack started, which cannot bind (gRPC's default SO_REUSEPORT is off).
        with pytest.raises(RuntimeError, match="candidates"):
            second.wait_ready(timeout=60)
        assert second.processes["candidates"].wait(30) != 0
        assert "Failed to bind" in second.log_path("candidates").read_text()
        first.wait_ready(timeout=5)  # the first one is untouched
    finally:
        second.stop_all()
        first.stop_all()
