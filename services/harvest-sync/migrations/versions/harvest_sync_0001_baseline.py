"""baseline: an empty schema under version control

Revision ID: harvest_sync_0001
Revises:
Create Date: 2026-11-28
"""

from collections.abc import Sequence

revision: str = "harvest_sync_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing yet: the Harvest tables arrive with their issue."""


def downgrade() -> None:
    """Nothing to undo."""
