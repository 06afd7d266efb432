"""lifecycle and outbox

Revision ID: assessments_0002
Revises: assessments_0001
Create Date: 2026-11-28 19:57:02.374545
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "assessments_0002"
down_revision: str | None = "assessments_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing invitations get defaults for the new non-null columns.
    op.create_table(
        "idempotency_record",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("rpc", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("invitation_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_record")),
        sa.UniqueConstraint("rpc", "key", name=op.f("uq_idempotency_record_rpc_key")),
    )
    op.create_table(
        "outbox_message",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("available_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_message")),
        sa.UniqueConstraint("kind", "dedupe_key", name=op.f("uq_outbox_message_kind_dedupe_key")),
    )
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outbox_message_status_available_at", ["status", "available_at"], unique=False
        )

    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("access_token_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("encrypted_access_token", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "needs_manual_evaluation", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch_op.add_column(sa.Column("started_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("reminder_queued_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("score", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("skill_scores", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("evaluator", sa.String(length=200), nullable=True))
        batch_op.add_column(
            sa.Column("resend_count", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.create_index(
            "ix_invitation_status_expires_at", ["status", "expires_at"], unique=False
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_invitation_access_token_hash"), ["access_token_hash"]
        )

    # ### end Alembic commands ###


def downgrade() -> None:
    # Existing invitations get defaults for the new non-null columns.
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_invitation_access_token_hash"), type_="unique")
        batch_op.drop_index("ix_invitation_status_expires_at")
        batch_op.drop_column("resend_count")
        batch_op.drop_column("evaluator")
        batch_op.drop_column("skill_scores")
        batch_op.drop_column("score")
        batch_op.drop_column("reminder_queued_at")
        batch_op.drop_column("cancelled_at")
        batch_op.drop_column("completed_at")
        batch_op.drop_column("submitted_at")
        batch_op.drop_column("started_at")
        batch_op.drop_column("needs_manual_evaluation")
        batch_op.drop_column("encrypted_access_token")
        batch_op.drop_column("access_token_hash")

    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_message_status_available_at")

    op.drop_table("outbox_message")
    op.drop_table("idempotency_record")
    # ### end Alembic commands ###
