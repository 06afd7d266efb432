"""What every outbound HTTP client of ours shares: TLS trust and reading Retry-After."""

from __future__ import annotations

import datetime as dt
import email.utils
import ssl

# Never wait longer than this for a Retry-After, whatever the server asks.
MAX_RETRY_AFTER_SECONDS = 3600.0


def retry_after_seconds(header: str | None, now: dt.datetime) -> float | None:
    """Retry-After as seconds or as an HTTP date; None when absent or unreadable."""
    if not header:
        return None
    header = header.strip()
    if header.isascii() and header.isdigit():  # isdigit() alone accepts non-ASCII digits
        return min(float(header), MAX_RETRY_AFTER_SECONDS)
    try:
        when = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return min(max((when - now).total_seconds(), 0.0), MAX_RETRY_AFTER_SECONDS)


def ssl_context(extra_ca_file: str | None) -> ssl.SSLContext:
    """The system's CAs, plus `extra_ca_file` when given (tests trust the emulator's CA)."""
    context = ssl.create_default_context()
    if extra_ca_file:
        context.load_verify_locations(cafile=extra_ca_file)
    return context
