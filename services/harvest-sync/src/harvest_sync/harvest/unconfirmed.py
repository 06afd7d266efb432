"""Everything about Harvest that Greenhouse's public material does not confirm.

Each value here is our best reading of ../shared/reference/greenhouse-api.md where that
reference says UNCONFIRMED. They are kept in this one module so that correcting one,
when Greenhouse confirms or contradicts it, is a one-line change with a test to update.
The Greenhouse emulator (greenhouse_emulator.harvest) mirrors the same choices.
"""

from __future__ import annotations

from typing import Final

# --- permission labels (reference §3.3) -----------------------------------------------
# Greenhouse labels endpoint permissions "METHOD: Endpoint name" in Dev Center → API
# Credential Management → Manage Permissions. "GET: List Users", "PATCH: Update
# Application" and "GET: Get custom fields" are seen in third-party lists; the labels of
# Add User and Create Custom Field are UNCONFIRMED and follow the same pattern.
LIST_USERS: Final = "GET: List Users"
ADD_USER: Final = "POST: Add User"
UPDATE_APPLICATION: Final = "PATCH: Update Application"
CREATE_CUSTOM_FIELD: Final = "POST: Create Custom Field"
GET_CUSTOM_FIELDS: Final = "GET: Get custom fields"
NEEDED_PERMISSIONS: Final = (
    LIST_USERS,
    ADD_USER,
    UPDATE_APPLICATION,
    CREATE_CUSTOM_FIELD,
    GET_CUSTOM_FIELDS,
)

# --- v1 permission probes (reference §3.6) --------------------------------------------
# Harvest has no endpoint that lists a key's permissions. The docs say a 401 means "invalid
# key or missing permission", so each needed endpoint is probed with a request that cannot
# change anything: GETs with per_page=1, and writes with an empty body (or application id
# 0), which a permitted key sees refused later, by validation (422), lookup (404) or the
# acting user's access (403). UNCONFIRMED: that Greenhouse checks the endpoint permission
# before validating the body. A 401 on every probe means the key itself is refused.
V1_PERMISSION_REFUSED_STATUS: Final = 401
V1_PROBE_APPLICATION_ID: Final = 0

# --- POST /v1/users (reference §3.8) ----------------------------------------------------
# The success status (201 or 200) is UNCONFIRMED: both are accepted.
CREATED_STATUSES: Final = frozenset({200, 201})

# --- v3 (reference §3.1) ----------------------------------------------------------------
# Confirmed: the token endpoint, client credentials with HTTP Basic client_id:secret and
# `sub`, bearer tokens, cursor pagination, PATCH /v3/applications/{id}.
# UNCONFIRMED: the routes for users and custom fields, the request and response bodies
# (taken to be v1's), the scope names, and that a missing scope is a 403.
V3_USERS_PATH: Final = "/v3/users"
V3_CUSTOM_FIELDS_PATH: Final = "/v3/custom_fields"
# v3 lists custom fields with a query parameter rather than v1's path segment.
V3_CUSTOM_FIELDS_TYPE_PARAMETER: Final = "field_type"
V3_APPLICATION_PATH: Final = "/v3/applications/{id}"
V3_SCOPES: Final = {
    LIST_USERS: "harvest:users:list",
    ADD_USER: "harvest:users:create",
    UPDATE_APPLICATION: "harvest:applications:update",
    CREATE_CUSTOM_FIELD: "harvest:custom_fields:create",
    GET_CUSTOM_FIELDS: "harvest:custom_fields:list",
}
V3_PERMISSION_REFUSED_STATUS: Final = 403

# --- rate limits (reference §3.4) -----------------------------------------------------
# The documented limit is "per 10 seconds"; 50 is the long-standing default, used until
# Greenhouse's X-RateLimit-Limit says otherwise. v3's limits are UNCONFIRMED: the same
# headers and window are assumed.
DEFAULT_RATE_LIMIT: Final = 50
RATE_WINDOW_SECONDS: Final = 10.0
