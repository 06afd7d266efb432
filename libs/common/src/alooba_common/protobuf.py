"""Small protobuf ⇄ Python conversions every servicer needs."""

from __future__ import annotations

import datetime as dt
from typing import Any

from google.protobuf import timestamp_pb2


def timestamp(value: dt.datetime | None) -> timestamp_pb2.Timestamp | None:
    """A protobuf Timestamp, or None (an unset field) for None."""
    if value is None:
        return None
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value)
    return stamp


def optional(message: Any, field: str) -> Any:
    """A proto3 `optional` field's value, or None when it is unset."""
    return getattr(message, field) if message.HasField(field) else None
