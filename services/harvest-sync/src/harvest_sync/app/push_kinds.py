"""The push queue's message kind, how its dedupe keys are formed, and so which of the
outbox's messages are one organization's."""

from __future__ import annotations

PUSH_KIND = "harvest.push"


def organization_prefix(organization_id: str) -> str:
    return f"{organization_id}:"


def dedupe_key(organization_id: str, result_id: str) -> str:
    return f"{organization_prefix(organization_id)}{result_id}"
