"""The organisation's records as Harvest v3 shows and changes them, where v3 differs from
v1 (harvest-v3-facts.md, rows named):

- a user is `{id, primary_email, emails, deactivated, site_admin, ...}` (row 17: "`disabled`
  → `deactivated` · `primary_email_address` → `primary_email`");
- a user is created with `primary_email` (row 19);
- `GET /v3/users` filters on `ids`, `employee_ids`, `primary_email` (exact) and
  `deactivated`; without `deactivated` both kinds come back (row 18, E7);
- `GET /v3/custom_fields` filters on `ids`, `field_type`, `active` (default: "both active
  and archived", row 21), `name` (exact, case-insensitive) and `name_key` (exact) (E9);
- `GET /v3/applications?ids=` is how one application is read (E2: there is no
  `GET /v3/<resource>/{id}`; at most 50 ids), and its `custom_fields` is an object
  `{name_key: {name, type, value}}` (E8).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from multidict import MultiMapping

from greenhouse_emulator.harvest.answers import HarvestError, v3_unprocessable
from greenhouse_emulator.harvest.customfields import LISTABLE_FIELD_TYPES, CustomField
from greenhouse_emulator.harvest.state import Application, Organisation, User

MAX_IDS: Final = 50  # E2: "filter the list with ids= (at most 50 per request)"
USER_PARAMETERS: Final = frozenset(
    {"ids", "employee_ids", "primary_email", "deactivated", "show_service_accounts"}
)
FIELD_PARAMETERS: Final = frozenset({"ids", "field_type", "active", "name", "name_key"})
APPLICATION_PARAMETERS: Final = frozenset({"ids"})


def _unprocessable(name: str, message: str) -> HarvestError:
    return v3_unprocessable([{name: message}])


def ids(query: MultiMapping[str]) -> set[int] | None:
    """`ids=1,2,3` (None when absent); 422 when malformed or more than 50."""
    raw = query.get("ids")
    if raw is None:
        return None
    parts = [part.strip() for part in raw.split(",")]
    if not parts or not all(part.isascii() and part.isdigit() for part in parts):
        raise _unprocessable("ids", "must be a comma-separated list of ids")
    if len(parts) > MAX_IDS:
        raise _unprocessable("ids", f"at most {MAX_IDS} ids")
    return {int(part) for part in parts}


def boolean(query: MultiMapping[str], name: str) -> bool | None:
    """A `true`/`false` filter (None when absent); 422 otherwise."""
    raw = query.get(name)
    if raw is None:
        return None
    if raw.lower() not in ("true", "false"):
        raise _unprocessable(name, "must be true or false")
    return raw.lower() == "true"


def _keep(value: Any, wanted: Any, match: Callable[[Any, Any], bool]) -> bool:
    return wanted is None or match(value, wanted)


# --- users ------------------------------------------------------------------------------


def user_json(user: User) -> dict[str, Any]:
    """A v3 user (row 17)."""
    return {
        "id": user.id,
        "name": f"{user.first_name} {user.last_name}",
        "first_name": user.first_name,
        "last_name": user.last_name,
        "primary_email": user.emails[0],
        "emails": list(user.emails),
        "deactivated": user.disabled,
        "site_admin": user.site_admin,
        "employee_id": user.employee_id,
        "created_at": user.created_at,
        "updated_at": user.updated_at,
    }


def users(organisation: Organisation, query: MultiMapping[str]) -> list[User]:
    """`GET /v3/users` with its filters."""
    wanted_ids = ids(query)
    employee_ids = query.get("employee_ids")
    employees = {e.strip() for e in employee_ids.split(",")} if employee_ids is not None else None
    primary = query.get("primary_email")
    deactivated = boolean(query, "deactivated")
    return [
        user
        for user in organisation.users.values()
        if _keep(user.id, wanted_ids, lambda v, w: v in w)
        and _keep(user.employee_id, employees, lambda v, w: v in w)
        and _keep(user.emails[0], primary, lambda v, w: v.lower() == w.strip().lower())
        and _keep(user.disabled, deactivated, lambda v, w: v == w)
    ]


def create_user(organisation: Organisation, body: Any) -> User:
    """`POST /v3/users`: v1's rules with the address in `primary_email` (row 19; a body
    with only v1's `email` lacks it and is refused)."""
    if not isinstance(body, dict):
        raise _unprocessable("body", "must be a JSON object")
    v1_body = {k: v for k, v in body.items() if k not in ("email", "primary_email")}
    if "primary_email" in body:
        v1_body["email"] = body["primary_email"]
    try:
        return organisation.create_user(v1_body)
    except HarvestError as error:
        body = error.answer.body if isinstance(error.answer.body, dict) else {}
        renamed = {"email": "primary_email"}
        raise v3_unprocessable(
            [
                {renamed.get(str(e.get("field")), str(e.get("field"))): str(e.get("message"))}
                for e in body.get("errors", [])
                if isinstance(e, dict)
            ]
        ) from error


# --- custom fields ----------------------------------------------------------------------


def fields(organisation: Organisation, query: MultiMapping[str]) -> list[CustomField]:
    """`GET /v3/custom_fields` with its filters."""
    field_type = query.get("field_type")
    if field_type is not None and field_type not in LISTABLE_FIELD_TYPES:
        raise _unprocessable("field_type", "must be one of: " + ", ".join(LISTABLE_FIELD_TYPES))
    wanted_ids = ids(query)
    active = boolean(query, "active")
    name, name_key = query.get("name"), query.get("name_key")
    return [
        f
        for f in organisation.fields_of(field_type, include_inactive=True)
        if _keep(f.id, wanted_ids, lambda v, w: v in w)
        and _keep(f.active, active, lambda v, w: v == w)
        and _keep(f.name, name, lambda v, w: v.lower() == w.lower())
        and _keep(f.name_key, name_key, lambda v, w: v == w)
    ]


# --- applications -----------------------------------------------------------------------


def applications(organisation: Organisation, query: MultiMapping[str]) -> list[Application]:
    """`GET /v3/applications` filtered by `ids` (deleted applications are gone)."""
    wanted_ids = ids(query)
    return [
        application
        for application in organisation.applications.values()
        if not application.deleted and _keep(application.id, wanted_ids, lambda v, w: v in w)
    ]


def application_json(organisation: Organisation, application: Application) -> dict[str, Any]:
    """A v3 application; `custom_fields` holds every active application field, keyed by
    name_key, null when unset (E8)."""
    active = organisation.fields_of("application", include_inactive=False)
    return {
        **organisation.application_basics(application),
        "custom_fields": {
            f.name_key: {
                "name": f.name,
                "type": f.value_type,
                "value": application.values.get(f.id),
            }
            for f in active
        },
    }


def update_application(
    organisation: Organisation, application: Application, body: Any, *, replace: bool
) -> None:
    """`PATCH /v3/applications/{id}`: elements name a field by `custom_field_id` or
    `name_key` (row 26); values may be given as a read shows them; with `replace` (row 27)
    the fields not named lose their values."""
    changes = organisation.changes(application, body, id_key="custom_field_id", v3=True)
    organisation.apply_changes(application, changes, replace=replace)
