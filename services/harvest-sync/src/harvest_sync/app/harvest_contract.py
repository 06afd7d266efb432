"""Harvest as Greenhouse serves it: the values harvest-sync relies on that Greenhouse's
documentation, or third-party clients checked against it, confirm. Each names its row of
`../shared/reference/harvest-v3-facts.md` (rows 1-40, E1-E18). What is still unconfirmed
is in `unconfirmed.py`.
"""

from __future__ import annotations

from typing import Final

from harvest_sync.app import harvest_unconfirmed as unconfirmed

# --- v1 endpoint permissions, as Dev Center labels them (Manage Permissions) ------------
LIST_USERS: Final = "GET: List Users"  # row 1
ADD_USER: Final = unconfirmed.ADD_USER  # row 2
UPDATE_APPLICATION: Final = "PATCH: Update Application"  # row 3
CREATE_CUSTOM_FIELD: Final = "POST: Create custom field"  # row 4 (the UI's casing)
GET_CUSTOM_FIELDS: Final = "GET: Get custom fields"  # row 5
V1_PERMISSIONS: Final = (
    LIST_USERS,
    ADD_USER,
    UPDATE_APPLICATION,
    CREATE_CUSTOM_FIELD,
    GET_CUSTOM_FIELDS,
)
# Row 7: "401 Unauthorized - Ensure you're using a valid Harvest API key with the correct
# permissions".
V1_PERMISSION_REFUSED_STATUS: Final = 401
# Row 9: creates answer 201 (200 accepted too: it costs nothing).
CREATED_STATUSES: Final = frozenset({200, 201})
# Reference §3.4: v1 allows X-RateLimit-Limit requests "per 10 seconds".
V1_RATE_WINDOW_SECONDS: Final = 10.0

# --- v3 scopes (Dev Center → API Credential Management → the "Harvest V3 (OAuth)"
# credential → Manage Scopes; row 6) -----------------------------------------------------
USERS_LIST: Final = "harvest:users:list"  # row 29
USERS_CREATE: Final = "harvest:users:create"  # row 30
APPLICATIONS_UPDATE: Final = "harvest:applications:update"  # row 31
CUSTOM_FIELDS_CREATE: Final = "harvest:custom_fields:create"  # row 32
CUSTOM_FIELDS_LIST: Final = "harvest:custom_fields:list"  # row 33
# Row 27: reading an application's custom fields before writing them back needs it.
APPLICATIONS_LIST: Final = "harvest:applications:list"
V3_SCOPES: Final = (
    USERS_LIST,
    USERS_CREATE,
    APPLICATIONS_LIST,
    APPLICATIONS_UPDATE,
    CUSTOM_FIELDS_LIST,
    CUSTOM_FIELDS_CREATE,
)
V3_WHERE_TO_GRANT: Final = (
    'Configure → Dev Center → API Credential Management → the "Harvest V3 (OAuth)" '
    "credential → Manage Scopes"
)
# Row 34: "a missing scope or a non-Site-Admin authorizing user surfaces as a 403".
V3_REFUSED_STATUS: Final = 403

# --- v3 routes -----------------------------------------------------------------------------
V3_USERS_PATH: Final = "/v3/users"  # rows 15-16 (list, create)
V3_CUSTOM_FIELDS_PATH: Final = "/v3/custom_fields"  # rows 20, 22 (list, create)
V3_APPLICATIONS_PATH: Final = "/v3/applications"  # E2: read one with ?ids=
V3_APPLICATION_PATH: Final = "/v3/applications/{id}"  # row 14 (PATCH)
# Row 18: users are looked up by `primary_email` (exact); there is no `email` filter.
V3_USER_EMAIL_PARAMETER: Final = "primary_email"
# Row 21: `field_type` filters; `active` "defaults to returning both active and archived".
V3_FIELD_TYPE_PARAMETER: Final = "field_type"
# Row 13: per_page is 1-500; a cursor must be the only query parameter.
V3_PAGE_SIZE: Final = 100

# --- v3 tokens (rows 10-12, 37) -------------------------------------------------------------
# Row 37: "Access Token: 1 hour"; the answer names it in `expires_in` or `expires_at`.
V3_TOKEN_LIFETIME_SECONDS: Final = 3600.0

# --- v3 rate limit (rows 39-40) ----------------------------------------------------------
# "A fixed 30-second window, with X-RateLimit-Limit, X-RateLimit-Remaining and
# X-RateLimit-Reset (UTC epoch seconds) on every response".
V3_RATE_WINDOW_SECONDS: Final = 30.0
