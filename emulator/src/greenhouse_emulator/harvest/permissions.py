"""What a Harvest credential may call: v1 API-key permissions, by their labels in Dev
Center (reference §3.3), and v3 OAuth scopes (harvest-v3-facts.md rows 29-33).

A v1 key created today may call only the endpoints whose boxes were ticked, so the emulator
checks the one permission each endpoint needs. The labels are those of third-party setup
guides (rows 1, 3, 5); "POST: Create custom field" is Sapia's copy of the UI text (row 4),
and "POST: Add User" the v1 doc heading (row 2, no copy of the UI label was found).

A v3 client is granted scopes under Manage Scopes; each v3 endpoint needs one. The pattern
`harvest:<resource>:<action>` is Greenhouse's own (HD-PARTNER, HD-SCOPE).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

LIST_USERS: Final = "GET: List Users"
RETRIEVE_USER: Final = "GET: Retrieve User"
ADD_USER: Final = "POST: Add User"  # row 2: UNCONFIRMED label
UPDATE_APPLICATION: Final = "PATCH: Update Application"
CREATE_CUSTOM_FIELD: Final = "POST: Create custom field"  # row 4
GET_CUSTOM_FIELDS: Final = "GET: Get custom fields"

ALL_PERMISSIONS: Final = (
    LIST_USERS,
    RETRIEVE_USER,
    ADD_USER,
    UPDATE_APPLICATION,
    CREATE_CUSTOM_FIELD,
    GET_CUSTOM_FIELDS,
)

USERS_LIST: Final = "harvest:users:list"  # row 29
USERS_CREATE: Final = "harvest:users:create"  # row 30
APPLICATIONS_LIST: Final = "harvest:applications:list"  # row 27: the read before a write
APPLICATIONS_UPDATE: Final = "harvest:applications:update"  # row 31
CUSTOM_FIELDS_LIST: Final = "harvest:custom_fields:list"  # row 33
CUSTOM_FIELDS_CREATE: Final = "harvest:custom_fields:create"  # row 32

ALL_SCOPES: Final = (
    USERS_LIST,
    USERS_CREATE,
    APPLICATIONS_LIST,
    APPLICATIONS_UPDATE,
    CUSTOM_FIELDS_LIST,
    CUSTOM_FIELDS_CREATE,
)


def _checked(grants: Iterable[str], known: tuple[str, ...], what: str) -> frozenset[str]:
    if isinstance(grants, str):
        raise TypeError(f"{what} must be an iterable of names, not one string")
    result = frozenset(grants)
    unknown = sorted(str(name) for name in result - frozenset(known))
    if unknown:
        raise ValueError(f"unknown Harvest {what} {unknown}; known: {known}")
    return result


def checked_permissions(permissions: Iterable[str]) -> frozenset[str]:
    """The permissions as a set; ValueError for a label the emulator does not know (a
    typo in a test would otherwise look like a missing permission)."""
    return _checked(permissions, ALL_PERMISSIONS, "permission(s)")


def checked_scopes(scopes: Iterable[str]) -> frozenset[str]:
    """The scopes as a set; ValueError for one the emulator does not know."""
    return _checked(scopes, ALL_SCOPES, "scope(s)")
