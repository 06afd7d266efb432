#!/usr/bin/env python3
"""Writes the access tables (each service's `access.py`) into docs/security.md, between its
GENERATED markers. `make security-doc` runs it; tests/unit/test_security_doc.py fails when
the document and the tables differ."""

from __future__ import annotations

import sys
from pathlib import Path

import assessments.api.access
import candidates.api.access
import console.api.access
import harvest_sync.api.access
from alooba_common.authz import access_markdown

DOC = Path(__file__).resolve().parents[1] / "docs" / "security.md"
BEGIN = "<!-- GENERATED from the services' access.py by `make security-doc`: do not edit -->"
END = "<!-- END GENERATED -->"
TABLES = {
    "assessments": assessments.api.access.ACCESS,
    "candidates": candidates.api.access.ACCESS,
    "harvest-sync": harvest_sync.api.access.ACCESS,
    "console": console.api.access.ACCESS,
}


def rendered(document: str) -> str:
    """`document` with the part between the markers replaced by the current tables."""
    head, begin, rest = document.partition(BEGIN)
    _, end, tail = rest.partition(END)
    if not begin or not end:
        raise ValueError(f"{DOC} lacks the markers {BEGIN!r} ... {END!r}")
    return f"{head}{BEGIN}\n\n{access_markdown(TABLES).rstrip()}\n\n{END}{tail}"


def main() -> int:
    DOC.write_text(rendered(DOC.read_text()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
