"""Redact the delivery errors written before they were kept free of PII (finding 4a).

An SMTP server's refusal quoted the recipient's address (and sometimes name), and it was
stored whole in outbox_message.last_error, where it outlived the candidate's erasure.
Each stored error is rewritten as alooba_common.outbox.redacted_stored_error says: an
exception's class without its text, our own reasons with any address scrubbed.

Revision ID: assessments_0005
Revises: assessments_0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from alooba_common.outbox import redacted_stored_error

revision: str = "assessments_0005"
down_revision: str | None = "assessments_0004"
branch_labels: str | None = None
depends_on: str | None = None

_BATCH = 500


def upgrade() -> None:
    outbox = sa.table(
        "outbox_message", sa.column("id", sa.String), sa.column("last_error", sa.Text)
    )
    connection = op.get_bind()
    after = ""
    while True:
        rows = connection.execute(
            sa.select(outbox.c.id, outbox.c.last_error)
            .where(outbox.c.last_error.is_not(None), outbox.c.id > after)
            .order_by(outbox.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        for message_id, stored in rows:
            redacted = redacted_stored_error(stored)
            if redacted != stored:
                connection.execute(
                    sa.update(outbox).where(outbox.c.id == message_id).values(last_error=redacted)
                )
        after = rows[-1][0]


def downgrade() -> None:
    # What was redacted is gone, as it should be.
    pass
