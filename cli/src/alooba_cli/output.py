"""Rendering: aligned tables and `key: value` blocks for people, JSON for scripts.

Every command's JSON is its RPC response as protobuf's canonical JSON mapping, so a
script sees the same field names as the proto (and timestamps as RFC 3339 UTC).
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator, Sequence
from typing import TextIO

from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message

MISSING = "-"

# What a terminal acts on instead of showing: C0 controls (ESC starts colour and
# screen-clearing sequences, CR overwrites the line) but the newline and tab we print
# ourselves, DEL, C1 controls (0x9b is a one-byte CSI) and the bidirectional overrides
# and isolates, which reorder the text after them. Each is shown as a \uXXXX escape:
# readable to a person, and a valid escape inside JSON strings, so --json stays JSON.
_TERMINAL_CONTROLS = {
    code: f"\\u{code:04x}"
    for code in (
        *range(0x00, 0x20),
        *range(0x7F, 0xA0),
        *range(0x202A, 0x202F),
        *range(0x2066, 0x206A),
    )
    if chr(code) not in "\n\t"
}


def terminal_safe(text: str) -> str:
    """`text` with every character a terminal would act on shown as an escape."""
    return text.translate(_TERMINAL_CONTROLS)


class _TerminalSafeStream:
    """A text stream that escapes terminal controls in whatever is written to it."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(terminal_safe(text))
        return len(text)

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


@contextlib.contextmanager
def terminal_safe_output() -> Iterator[None]:
    """While it lasts, everything printed to stdout and stderr is terminal_safe: names,
    messages and ids come from the services, and so from whoever named things there."""
    stdout, stderr = sys.stdout, sys.stderr
    sys.stdout = _TerminalSafeStream(stdout)
    sys.stderr = _TerminalSafeStream(stderr)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = stdout, stderr


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
