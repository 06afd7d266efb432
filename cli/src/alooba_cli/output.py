"""Rendering: aligned tables and `key: value` blocks for people, JSON for scripts.

Every command's JSON is its RPC response as protobuf's canonical JSON mapping, so a
script sees the same field names as the proto (and timestamps as RFC 3339 UTC).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message

MISSING = "-"


def print_json(message: Message) -> None:
    """Prints `message` as indented JSON, with empty lists and zero values included so a
    script can rely on every field being present."""
    document = MessageToDict(
        message,
        preserving_proto_field_name=True,
        always_print_fields_with_no_presence=True,
    )
    print(json.dumps(document, indent=2, ensure_ascii=False))


def print_fields(fields: Sequence[tuple[str, str]], indent: str = "") -> None:
    """Prints a `key: value` block with the values aligned, each line after `indent`."""
    width = max((len(key) for key, _ in fields), default=0) + 1
    for key, value in fields:
        print(f"{indent}{key + ':':<{width}} {value}")


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]], indent: str = "") -> None:
    """Prints rows under upper-case headers, each column as wide as its widest cell,
    each line after `indent`."""
    widths = [len(header) for header in headers]
    for row in rows:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]
    for line in (headers, *rows):
        cells = [f"{cell:<{width}}" for cell, width in zip(line, widths, strict=True)]
        print(indent + "  ".join(cells).rstrip())


def one_line(text: str, width: int) -> str:
    """`text` on one line, cut to `width` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 3] + "..."


def timestamp(message: Message, field: str) -> str:
    """The Timestamp field `field` of `message` as ISO-8601 UTC, or "-" when unset."""
    if not message.HasField(field):
        return MISSING
    moment = getattr(message, field).ToDatetime()
    return str(moment.strftime("%Y-%m-%dT%H:%M:%SZ"))


def enum_label(name: str, prefix: str) -> str:
    """`API_KEY_STATE_RETIRING` → `retiring`: the enum value name people read."""
    return name.removeprefix(prefix).lower()


def yes_no(value: bool) -> str:
    """A boolean as a person reads it."""
    return "yes" if value else "no"
