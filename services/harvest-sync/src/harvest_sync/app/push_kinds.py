"""The push queue's message kind and how its dedupe keys are formed."""

from __future__ import annotations

PUSH_KIND = "harvest.push"


def organization_prefix(organization_id: str) -> str:
    return f"{organization_id}:"


def dedupe_key(organization_id: str, result_id: str) -> str:
    return f"{organization_prefix(organization_id)}{result_id}"
