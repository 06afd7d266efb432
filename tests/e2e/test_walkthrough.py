"""The README's walkthrough, run as written (tests/walkthrough.sh) against a fresh stack:
it must reach `complete` and apply its signed webhook, or the README is wrong."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(
    any(shutil.which(tool) is None for tool in ("curl", "jq", "openssl", "bash")),
    reason="the walkthrough needs curl, jq and openssl",
)
def test_the_readme_walkthrough_reaches_complete() -> None:
    result = subprocess.run(
        [str(ROOT / "tests" / "walkthrough.sh")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "walkthrough: reached complete" in output
    assert '{"status":"ok","outcome":"applied"}' in output
