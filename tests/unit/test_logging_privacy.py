from __future__ import annotations

import json
import logging

import pytest
import structlog

from alooba_common.config import LoggingSettings
from alooba_common.logging import configure_logging


@pytest.fixture(autouse=True)
def _restore_structlog() -> object:
    yield
    structlog.reset_defaults()
    logging.getLogger().handlers.clear()


def _fail_with_pii_in_a_local(email: str) -> None:
    candidate_email = email  # a local, as a request object would be
    raise ValueError(f"failed for candidate #{len(candidate_email)}")


def test_tracebacks_in_logs_carry_no_frame_locals(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(LoggingSettings(), service="test")
    try:
        _fail_with_pii_in_a_local("hermione@hogwarts.edu")
    except ValueError:
        structlog.get_logger().exception("rpc.failed")
    line = capsys.readouterr().out.strip().splitlines()[-1]
    record = json.loads(line)
    assert record["event"] == "rpc.failed"
    assert record["exception"][0]["exc_type"] == "ValueError"
    assert "hermione@hogwarts.edu" not in line


def test_known_pii_keys_are_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(LoggingSettings(), service="test")
    structlog.get_logger().info("oops", email="ron@hogwarts.edu", first_name="Ron")
    line = capsys.readouterr().out
    assert "ron@hogwarts.edu" not in line
    assert "Ron" not in line
