"""Saturation measured with `wrk` (Debian's package), beside our own generator's, so a
reader can check our figures against a tool they know.

wrk sends what our scenarios make (alooba_dev.bench.scenarios), pre-generated: `count`
requests written to a file that a small Lua script reads and hands out in turn, thread
by thread. A scenario whose requests must be unique (send_test's `url`, a webhook's
event id) gets enough of them for the run; past them, wrk sends earlier ones again (then
idempotent repeats, which `repeated` reports). wrk has no warm-up and measures
closed-loop throughput only: the open loop stays with our generator, whose latencies
are free of coordinated omission.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alooba_dev.bench.scenarios import request_factory

# Hands out the pre-generated requests: thread k sends requests k, k + threads, ...
_SCRIPT = r"""
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end
function init(args)
  requests = {}
  local file = assert(io.open(args[1], "rb"))
  local data = file:read("*a")
  file:close()
  for raw in string.gmatch(data, "([^%z]+)") do
    requests[#requests + 1] = raw
  end
  position = id
  step = tonumber(args[2])
end
function request()
  local raw = requests[(position % #requests) + 1]
  position = position + step
  return raw
end
"""


@dataclass(frozen=True, slots=True)
class WrkRun:
    rps: float
    requests: int
    non_2xx: int
    socket_errors: int
    distinct: int
    output: str

    @property
    def repeated(self) -> int:
        return max(self.requests - self.distinct, 0)

    @property
    def ok(self) -> int:
        return max(self.requests - self.non_2xx - self.socket_errors, 0)

    def to_json(self) -> dict[str, Any]:
        return {
            "rps": self.rps,
            "requests": self.requests,
            "non_2xx": self.non_2xx,
            "socket_errors": self.socket_errors,
            "distinct_requests": self.distinct,
            "repeated": self.repeated,
            "output": self.output,
        }


def available() -> bool:
    return shutil.which("wrk") is not None


def parse_output(output: str) -> tuple[float, int, int, int]:
    """Requests/sec, requests, non-2xx answers and socket errors from wrk's report."""
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total = re.search(r"(\d+) requests in", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if rps is None or total is None:
        raise ValueError(f"not a wrk report: {output[-500:]!r}")
    return (
        float(rps.group(1)),
        int(total.group(1)),
        int(non_2xx.group(1)) if non_2xx else 0,
        sum(int(n) for n in errors.groups()) if errors else 0,
    )


def run_wrk(
    port: int,
    scenario: Mapping[str, Any],
    *,
    count: int,
    connections: int,
    duration: float,
    threads: int = 2,
) -> WrkRun:
    """wrk against 127.0.0.1:`port` for `duration` seconds (whole seconds, at least 1),
    `connections` keep-alive connections over `threads` threads."""
    make = request_factory(scenario)
    with tempfile.TemporaryDirectory(prefix="alooba-wrk-") as folder:
        requests = Path(folder) / "requests"
        with requests.open("wb") as out:
            for index in range(count):
                out.write(make(index) + b"\0")
        script = Path(folder) / "requests.lua"
        script.write_text(_SCRIPT)
        seconds = max(1, round(duration))
        done = subprocess.run(  # noqa: S603 - wrk with our own arguments
            [  # noqa: S607 - wrk from PATH (Debian's package)
                "wrk",
                f"-t{threads}",
                f"-c{max(connections, threads)}",
                f"-d{seconds}s",
                "-s",
                str(script),
                f"http://127.0.0.1:{port}/",
                "--",
                str(requests),
                str(threads),
            ],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr[-1000:]}")
    rps, total, non_2xx, errors = parse_output(done.stdout)
    return WrkRun(rps, total, non_2xx, errors, count, done.stdout)
