"""Reading Greenhouse's Retry-After header (RFC 9110: delay-seconds or an HTTP-date)."""

from __future__ import annotations

import datetime as dt
from email.utils import format_datetime

import pytest

from alooba_common.http_client import MAX_RETRY_AFTER_SECONDS, retry_after_seconds

NOW = dt.datetime(2026, 3, 2, 12, 0, 0, tzinfo=dt.UTC)


def http_date(when: dt.datetime) -> str:
    return format_datetime(when, usegmt=True)


def test_integer_seconds_are_read_as_seconds() -> None:
    assert retry_after_seconds("120", NOW) == 120.0


def test_zero_seconds_means_now() -> None:
    assert retry_after_seconds("0", NOW) == 0.0


def test_surrounding_whitespace_is_ignored() -> None:
    assert retry_after_seconds(" 7 ", NOW) == 7.0


def test_http_date_in_the_future_is_the_seconds_until_then() -> None:
    assert retry_after_seconds(http_date(NOW + dt.timedelta(seconds=90)), NOW) == 90.0


def test_http_date_in_the_past_means_now() -> None:
    assert retry_after_seconds(http_date(NOW - dt.timedelta(hours=1)), NOW) == 0.0


def test_http_date_without_a_zone_is_read_as_utc() -> None:
    assert retry_after_seconds("Mon, 02 Mar 2026 12:00:30 -0000", NOW) == 30.0


@pytest.mark.parametrize("header", [None, ""])
def test_absent_header_is_none(header: str | None) -> None:
    assert retry_after_seconds(header, NOW) is None


@pytest.mark.parametrize(
    "header",
    [
        "soon",
        "1.5",
        "-5",
        "12 seconds",
        "Mon, 99 Foo 2026",
        # Unicode digits: str.isdigit() accepts them, float() does not (or should not).
        "²",
        "١٢",
    ],
)
def test_garbage_is_none(header: str) -> None:
    assert retry_after_seconds(header, NOW) is None


def test_seconds_are_capped() -> None:
    assert retry_after_seconds("999999", NOW) == MAX_RETRY_AFTER_SECONDS


def test_a_far_future_date_is_capped() -> None:
    far = http_date(NOW + dt.timedelta(days=30))
    assert retry_after_seconds(far, NOW) == MAX_RETRY_AFTER_SECONDS
