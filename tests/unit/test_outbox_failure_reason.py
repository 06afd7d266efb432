"""What the outbox keeps about a failed delivery (finding 4a): never PII."""

from __future__ import annotations

import aiosmtplib
import pytest

from alooba_common.outbox import (
    PermanentFailure,
    RetryLater,
    failure_reason,
    redacted_stored_error,
)


def test_an_unexpected_exception_is_kept_as_its_class_and_code_only() -> None:
    refused = aiosmtplib.SMTPResponseException(550, "<ginny@hogwarts.edu>: Ginny unknown")
    assert failure_reason(refused) == "SMTPResponseException (code 550)"
    assert failure_reason(ValueError("Ginny Weasley")) == "ValueError"


def test_our_own_reasons_are_kept_with_any_address_scrubbed() -> None:
    assert failure_reason(RetryLater("Greenhouse answered 429")) == "Greenhouse answered 429"
    assert (
        failure_reason(PermanentFailure("refused for <ginny@hogwarts.edu>, sorry"))
        == "refused for <[redacted]>, sorry"
    )


@pytest.mark.parametrize(
    ("stored", "kept"),
    [
        (
            "SMTPRecipientsRefused: {'g@h.edu': (550, b'5.1.1 <g@h.edu>: Ginny unknown')}",
            "SMTPRecipientsRefused (details removed)",
        ),
        ("ConnectionError: refused by mail.hogwarts.edu", "ConnectionError (details removed)"),
        ("Greenhouse answered 404", "Greenhouse answered 404"),
        ("callback failed: ClientConnectorError", "callback failed: ClientConnectorError"),
        ("sent to ginny@hogwarts.edu and failed", "sent to [redacted] and failed"),
    ],
)
def test_errors_stored_before_are_redacted_the_same_way(stored: str, kept: str) -> None:
    assert redacted_stored_error(stored) == kept
