"""candidates without Greenhouse ids (item 5b)

A send_test whose greenhouse_profile_url names no Greenhouse candidate still registers
its candidate: greenhouse_candidate_id may be NULL, and such a candidate is found again
by its registration_key (a hash of the send_test callback URL), unique per organization.

Revision ID: candidates_0003
Revises: candidates_0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "candidates_0003"
down_revision: str | None = "candidates_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("candidate", schema=None) as batch_op:
        batch_op.alter_column(
            "greenhouse_candidate_id", existing_type=sa.BigInteger(), nullable=True
        )
        batch_op.add_column(sa.Column("registration_key", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_candidate_organization_id_registration_key"),
            ["organization_id", "registration_key"],
        )


def downgrade() -> None:
    with op.batch_alter_table("candidate", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("uq_candidate_organization_id_registration_key"), type_="unique"
        )
        batch_op.drop_column("registration_key")
        batch_op.alter_column(
            "greenhouse_candidate_id", existing_type=sa.BigInteger(), nullable=False
        )
