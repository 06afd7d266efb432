"""Autogenerates a migration for one service against a scratch SQLite database.

.venv/bin/python scripts/new-migration.py assessments "add results"
"""

from __future__ import annotations

import importlib
import sys
import tempfile
from pathlib import Path

from alembic import command

from alooba_common.migrations import alembic_config, upgrade_to_head


def main() -> None:
    package, message = sys.argv[1], sys.argv[2]
    server = importlib.import_module(f"{package}.server")
    migrations: Path = server.MIGRATIONS
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{scratch}/scratch.db"
        upgrade_to_head(migrations, url)
        existing = sorted((migrations / "versions").glob("*.py"))
        # Revision ids name their service, so a database of one service can never pass
        # for another's in the readiness check.
        rev_id = f"{package}_{len(existing) + 1:04d}"
        command.revision(
            alembic_config(migrations, url), message=message, autogenerate=True, rev_id=rev_id
        )


if __name__ == "__main__":
    main()
