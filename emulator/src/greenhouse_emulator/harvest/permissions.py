"""Harvest v1 API-key permissions, by their labels in Dev Center (reference §3.3).

A key created today may call only the endpoints whose boxes were ticked, so the emulator
checks the one permission each endpoint needs. The labels follow the UI's
`METHOD: Endpoint name` pattern; "GET: List Users", "GET: Retrieve User", "PATCH: Update
Application" and "GET: Get custom fields" are attested by third-party lists, while the
exact labels of "POST: Add User" and "POST: Create Custom Field" are UNCONFIRMED (the
pattern applied to the docs' endpoint names).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

LIST_USERS: Final = "GET: List Users"
RETRIEVE_USER: Final = "GET: Retrieve User"
ADD_USER: Final = "POST: Add User"  # UNCONFIRMED label
UPDATE_APPLICATION: Final = "PATCH: Update Application"
CREATE_CUSTOM_FIELD: Final = "POST: Create Custom Field"  # UNCONFIRMED label
GET_CUSTOM_FIELDS: Final = "GET: Get custom fields"

ALL_PERMISSIONS: Final = (
    LIST_USERS,
    RETRIEVE_USER,
    ADD_USER,
    UPDATE_APPLICATION,
    CREATE_CUSTOM_FIELD,
    GET_CUSTOM_FIELDS,
)


def checked_permissions(permissions: Iterable[str]) -> frozenset[str]:
    """The permissions as a set; ValueError for a label the emulator does not know (a
    typo in a test would otherwise look like a missing permission)."""
    if isinstance(permissions, str):
        raise TypeError("permissions must be an iterable of labels, not one string")
    result = frozenset(permissions)
    unknown = sorted(str(label) for label in result - frozenset(ALL_PERMISSIONS))
    if unknown:
        raise ValueError(f"unknown Harvest permission(s) {unknown}; known: {ALL_PERMISSIONS}")
    return result
