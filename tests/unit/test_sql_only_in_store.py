"""Every SQL statement of a gRPC service is in its store/ (HOUSE-STYLE "Shape"): its api/,
app/, outbound/, jobs/ and domain/ modules may take sessions and transactions from
SQLAlchemy, never build SQL.

import-linter cannot say this (.importlinter says why), so this test reads the imports.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = {
    "assessments": ROOT / "services/assessments/src/assessments",
    "candidates": ROOT / "services/candidates/src/candidates",
    "harvest_sync": ROOT / "services/harvest-sync/src/harvest_sync",
}
ABOVE_THE_STORE = ("api", "app", "outbound", "jobs", "domain")
# What a use case may take from SQLAlchemy: the session and its factory (it owns its
# transactions) and the errors it turns into domain errors (a unique violation is
# ALREADY_EXISTS). Nothing that builds a statement: select, insert, update, delete, text,
# func, the dialects' inserts, the ORM's query options.
ALLOWED = {"sqlalchemy.ext.asyncio", "sqlalchemy.exc"}


def sqlalchemy_imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import of SQLAlchemy in the module but the allowed ones."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
        else:
            continue
        for module in modules:
            if module.split(".")[0] == "sqlalchemy" and module not in ALLOWED:
                found.append((node.lineno, module))
    return found


def modules_above_the_store(package: Path) -> list[Path]:
    return sorted(
        path
        for folder in ABOVE_THE_STORE
        if (package / folder).is_dir()
        for path in (package / folder).rglob("*.py")
    )


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_no_sql_is_built_outside_the_store(service: str) -> None:
    package = SERVICES[service]
    modules = modules_above_the_store(package)
    assert modules, f"{service}: no api/app/outbound/jobs modules found under {package}"
    offences = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in modules
        for line, module in sqlalchemy_imports(path)
    ]
    assert offences == [], "SQL belongs in store/ (a repository):\n" + "\n".join(offences)


def test_the_check_sees_a_statement_built_outside_the_store(tmp_path: Path) -> None:
    """The reader catches each way of importing SQL construction, and lets the allowed
    ones through."""
    module = tmp_path / "use_case.py"
    module.write_text(
        "import sqlalchemy\n"
        "from sqlalchemy import select, update\n"
        "from sqlalchemy.dialects import postgresql\n"
        "import sqlalchemy.sql.expression as expression\n"
        "from sqlalchemy.ext.asyncio import AsyncSession\n"
        "from sqlalchemy.exc import IntegrityError\n"
        "from . import sqlalchemy_lookalike\n"
    )
    assert sqlalchemy_imports(module) == [
        (1, "sqlalchemy"),
        (2, "sqlalchemy"),
        (3, "sqlalchemy.dialects"),
        (4, "sqlalchemy.sql.expression"),
    ]
