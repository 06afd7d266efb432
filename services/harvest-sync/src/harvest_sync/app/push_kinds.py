"""The push queue's message kind, how its dedupe keys are formed, and so which of the
outbox's messages are one organization's."""

from __future__ import annotations

from sqlalchemy.sql.elements import ColumnElement

from harvest_sync.store.models import OUTBOX

PUSH_KIND = "harvest.push"


def organization_prefix(organization_id: str) -> str:
    return f"{organization_id}:"


def dedupe_key(organization_id: str, result_id: str) -> str:
    return f"{organization_prefix(organization_id)}{result_id}"


def organization_pushes(organization_id: str) -> ColumnElement[bool]:
    """The outbox messages that are the organization's pushes (by their dedupe key)."""
    return (OUTBOX.c.kind == PUSH_KIND) & OUTBOX.c.dedupe_key.startswith(
        organization_prefix(organization_id), autoescape=True
    )
