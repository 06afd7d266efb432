"""The Harvest endpoints the integration uses, per version: by the time a handler runs,
the caller is authenticated, permitted, within the rate limit, allowed to read that way
and, for a write, acting as a Site Admin. Handlers validate, look up and apply.

v1 (reference §3): List Users, Retrieve User, Add User, List Custom Fields (the type in
the path), Create Custom Field, Update Application.

v3 (harvest-v3-facts.md): `GET/POST /v3/users` (rows 15-16), `GET/POST /v3/custom_fields`
(rows 20, 22), `GET /v3/applications` (E2: single records are read with `ids=`) and
`PATCH /v3/applications/{id}` (row 14). There is no `GET /v3/users/{id}` (E2).
"""

from __future__ import annotations

from typing import Any, Final

from greenhouse_emulator.harvest import permissions, v3_records
from greenhouse_emulator.harvest.answers import Answer, not_found
from greenhouse_emulator.harvest.customfields import LISTABLE_FIELD_TYPES
from greenhouse_emulator.harvest.routing import Call, Endpoint, Listing


def _true(call: Call, name: str) -> bool:
    return call.query.get(name, "").lower() == "true"


# --- v1 ---------------------------------------------------------------------------------


def list_users(call: Call) -> Listing:
    """`GET /v1/users`: every user, or those matching `email` (primary or secondary: so 0
    or 1) and `employee_id`; `user_attributes=true` adds their custom fields."""
    organisation = call.organisation
    users = list(organisation.users.values())
    email = call.query.get("email")
    if email is not None:
        users = [user for user in users if user.has_email(email)]
    employee_id = call.query.get("employee_id")
    if employee_id is not None:
        users = [user for user in users if user.employee_id == employee_id]
    attributes = _true(call, "user_attributes")
    return Listing([organisation.user_json(user, attributes=attributes) for user in users])


def retrieve_user(call: Call) -> Answer:
    """`GET /v1/users/{id}`."""
    user = call.organisation.user_or_404(call.match_info["id"])
    return Answer(200, call.organisation.user_json(user, attributes=_true(call, "user_attributes")))


def add_user(call: Call) -> Answer:
    """`POST /v1/users`: 201 with the new Basic user (the status is UNCONFIRMED)."""
    user = call.organisation.create_user(call.body)
    return Answer(201, call.organisation.user_json(user, attributes=True))


def list_custom_fields(call: Call) -> Listing:
    """`GET /v1/custom_fields/{field_type}` (an unknown type is a 404, as for any unknown
    path); `include_inactive=true` adds deactivated fields."""
    field_type = call.match_info["field_type"]
    if field_type not in LISTABLE_FIELD_TYPES:
        raise not_found()
    fields = call.organisation.fields_of(
        field_type, include_inactive=_true(call, "include_inactive")
    )
    return Listing([custom_field.to_json() for custom_field in fields])


def create_custom_field(call: Call) -> Answer:
    """`POST /v1/custom_fields`: 201 with the new field, as an object (the docs' example is
    a one-element array, which looks like a copy-paste slip)."""
    return Answer(201, call.organisation.create_field(call.body).to_json())


def update_application(call: Call) -> Answer:
    """`PATCH /v1/applications/{id}`: 200 with the whole application."""
    organisation = call.organisation
    application = organisation.application_or_404(call.match_info["id"])
    organisation.update_application(application, call.body)
    return Answer(200, organisation.application_json(application))


# --- v3 ---------------------------------------------------------------------------------


def _created(call: Call, record: dict[str, Any]) -> Answer:
    # Row 9: creates answer 201. Row 24: only `{"id": …}` mocks were seen of the body.
    full = call.behaviour is not None and call.behaviour.created_body == "full"
    return Answer(201, record if full else {"id": record["id"]})


def list_users_v3(call: Call) -> Listing:
    users = v3_records.users(call.organisation, call.query)
    return Listing([v3_records.user_json(user) for user in users])


def add_user_v3(call: Call) -> Answer:
    return _created(
        call, v3_records.user_json(v3_records.create_user(call.organisation, call.body))
    )


def list_custom_fields_v3(call: Call) -> Listing:
    return Listing([f.to_json() for f in v3_records.fields(call.organisation, call.query)])


def create_custom_field_v3(call: Call) -> Answer:
    return _created(call, call.organisation.create_field(call.body).to_json())


def list_applications_v3(call: Call) -> Listing:
    organisation = call.organisation
    found = v3_records.applications(organisation, call.query)
    return Listing([v3_records.application_json(organisation, a) for a in found])


def update_application_v3(call: Call) -> Answer:
    """Row 28: "PATCH 200"."""
    organisation = call.organisation
    application = organisation.application_or_404(call.match_info["id"])
    replace = call.behaviour is None or call.behaviour.patch_custom_fields == "replace"
    v3_records.update_application(organisation, application, call.body, replace=replace)
    return Answer(200, v3_records.application_json(organisation, application))


V1_ENDPOINTS: Final = (
    Endpoint("list_users", "GET", "/users", permissions.LIST_USERS, list_users, paging="classic"),
    Endpoint("retrieve_user", "GET", "/users/{id}", permissions.RETRIEVE_USER, retrieve_user),
    Endpoint("add_user", "POST", "/users", permissions.ADD_USER, add_user, write=True),
    Endpoint(
        "list_custom_fields", "GET", "/custom_fields/{field_type}", permissions.GET_CUSTOM_FIELDS,
        list_custom_fields, paging="next",
    ),
    Endpoint(
        "create_custom_field", "POST", "/custom_fields", permissions.CREATE_CUSTOM_FIELD,
        create_custom_field, write=True,
    ),
    Endpoint(
        "update_application", "PATCH", "/applications/{id}", permissions.UPDATE_APPLICATION,
        update_application, write=True,
    ),
)  # fmt: skip

_PAGING: Final = frozenset({"per_page", "cursor"})

V3_ENDPOINTS: Final = (
    Endpoint(
        "list_users", "GET", "/users", permissions.USERS_LIST, list_users_v3, paging="cursor",
        parameters=v3_records.USER_PARAMETERS | _PAGING,
    ),
    Endpoint("add_user", "POST", "/users", permissions.USERS_CREATE, add_user_v3, write=True),
    Endpoint(
        "list_custom_fields", "GET", "/custom_fields", permissions.CUSTOM_FIELDS_LIST,
        list_custom_fields_v3, paging="cursor", parameters=v3_records.FIELD_PARAMETERS | _PAGING,
    ),
    Endpoint(
        "create_custom_field", "POST", "/custom_fields", permissions.CUSTOM_FIELDS_CREATE,
        create_custom_field_v3, write=True,
    ),
    Endpoint(
        "list_applications", "GET", "/applications", permissions.APPLICATIONS_LIST,
        list_applications_v3, paging="cursor",
        parameters=v3_records.APPLICATION_PARAMETERS | _PAGING,
    ),
    Endpoint(
        "update_application", "PATCH", "/applications/{id}", permissions.APPLICATIONS_UPDATE,
        update_application_v3, write=True,
    ),
)  # fmt: skip
