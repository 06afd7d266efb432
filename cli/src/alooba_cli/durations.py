"""Durations as operators type them: `3600`, `90s`, `30m`, `12h`, `7d`."""

from __future__ import annotations

import argparse
import re

_SECONDS_PER_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86_400}
_DURATION = re.compile(r"(\d+)\s*([smhd]?)")
# What a protobuf int64 of seconds holds; the service judges the rest.
MAX_SECONDS = 2**63 - 1


def parse_duration(text: str) -> int:
    """The number of seconds `text` means: a whole number, optionally followed by s, m, h
    or d. Raises ValueError for anything else."""
    match = _DURATION.fullmatch(text.strip().lower())
    if match is None:
        raise ValueError(f"{text!r} is not a duration (examples: 3600, 90s, 30m, 12h, 7d)")
    amount, unit = match.groups()
    seconds = int(amount) * _SECONDS_PER_UNIT[unit]
    if seconds > MAX_SECONDS:
        raise ValueError(f"{text!r} is too long to be a duration")
    return seconds


def duration_argument(text: str) -> int:
    """argparse `type=` for a duration, so a bad one is a usage error (exit status 2)."""
    try:
        return parse_duration(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
