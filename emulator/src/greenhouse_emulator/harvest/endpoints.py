"""The six Harvest endpoints the integration uses, as logic shared by v1 and v3: by the
time a handler runs, the caller is authenticated, permitted, within the rate limit and,
for a write, acting as a Site Admin. Handlers validate, look up and apply."""

from __future__ import annotations

from typing import Final

from greenhouse_emulator.harvest import permissions
from greenhouse_emulator.harvest.answers import (
    Answer,
    field_error,
    not_found,
    validation_error,
)
from greenhouse_emulator.harvest.customfields import LISTABLE_FIELD_TYPES
from greenhouse_emulator.harvest.routing import Call, Endpoint, Listing


def _true(call: Call, name: str) -> bool:
    return call.query.get(name, "").lower() == "true"


def list_users(call: Call) -> Listing:
    """`GET /users`: every user, or those matching `email` (primary or secondary: so 0
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
    """`GET /users/{id}`."""
    user = call.organisation.user_or_404(call.match_info["id"])
    return Answer(200, call.organisation.user_json(user, attributes=_true(call, "user_attributes")))


def add_user(call: Call) -> Answer:
    """`POST /users`: 201 with the new Basic user (the status is UNCONFIRMED)."""
    user = call.organisation.create_user(call.body)
    return Answer(201, call.organisation.user_json(user, attributes=True))


def list_custom_fields(call: Call) -> Listing:
    """`GET /v1/custom_fields/{field_type}` (an unknown type is a 404, as for any unknown
    path) or `GET /v3/custom_fields?field_type=` (optional there; an unknown one is a
    422); `include_inactive=true` adds deactivated fields."""
    if call.version == "v1":
        field_type: str | None = call.match_info["field_type"]
        if field_type not in LISTABLE_FIELD_TYPES:
            raise not_found()
    else:
        field_type = call.query.get("field_type")
        if field_type is not None and field_type not in LISTABLE_FIELD_TYPES:
            message = "Must be one of: " + ", ".join(LISTABLE_FIELD_TYPES)
            raise validation_error([field_error(message, "field_type")])
    fields = call.organisation.fields_of(
        field_type, include_inactive=_true(call, "include_inactive")
    )
    return Listing([custom_field.to_json() for custom_field in fields])


def create_custom_field(call: Call) -> Answer:
    """`POST /custom_fields`: 201 with the new field, as an object (the docs' example is
    a one-element array, which looks like a copy-paste slip)."""
    return Answer(201, call.organisation.create_field(call.body).to_json())


def update_application(call: Call) -> Answer:
    """`PATCH /applications/{id}`: 200 with the whole application."""
    organisation = call.organisation
    application = organisation.application_or_404(call.match_info["id"])
    organisation.update_application(application, call.body)
    return Answer(200, organisation.application_json(application))


ENDPOINTS: Final = (
    Endpoint(
        "list_users", "GET", permissions.LIST_USERS, list_users, "/users", "/users",
        v1_paging="classic",
    ),
    Endpoint(
        "retrieve_user", "GET", permissions.RETRIEVE_USER, retrieve_user,
        "/users/{id}", "/users/{id}",
    ),
    Endpoint(
        "add_user", "POST", permissions.ADD_USER, add_user, "/users", "/users", write=True
    ),
    Endpoint(
        "list_custom_fields", "GET", permissions.GET_CUSTOM_FIELDS, list_custom_fields,
        "/custom_fields/{field_type}", "/custom_fields", v1_paging="next",
    ),
    Endpoint(
        "create_custom_field", "POST", permissions.CREATE_CUSTOM_FIELD, create_custom_field,
        "/custom_fields", "/custom_fields", write=True,
    ),
    Endpoint(
        "update_application", "PATCH", permissions.UPDATE_APPLICATION, update_application,
        "/applications/{id}", "/applications/{id}", write=True,
    ),
)  # fmt: skip
