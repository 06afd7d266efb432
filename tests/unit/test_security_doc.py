"""docs/security.md shows the access tables the services enforce, generated from them."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "gen-security-doc.py"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_security_doc", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_document_shows_the_tables_the_services_enforce() -> None:
    generator = _generator()
    document = generator.DOC.read_text()

    assert document == generator.rendered(document), (
        "docs/security.md differs from the services' access.py: run `make security-doc`"
    )


def test_the_document_lists_every_method_of_every_table() -> None:
    generator = _generator()
    document = generator.DOC.read_text()

    for table in generator.TABLES.values():
        for method in table.rules:
            assert f"| `{method.lstrip('/')}` |" in document
