"""One Greenhouse organisation as Harvest shows it: users, applications and custom
fields, with the rules that belong to the records themselves (a taken e-mail, a deleted
application, a value that does not fit its field). Who may ask is decided elsewhere.

Ids come from one counter shared by every kind of record, so a client that mixes up an
application id with a user id gets a 404 instead of someone else's record.
"""

from __future__ import annotations

import datetime
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from greenhouse_emulator.harvest.answers import (
    HarvestError,
    field_error,
    not_found,
    validation_error,
)
from greenhouse_emulator.harvest.customfields import (
    FIELD_TYPES,
    SELECT_TYPES,
    BadValue,
    CustomField,
    coerce_value,
    creation_errors,
    derive_name_key,
)

APPLICATION_STATUSES: Final = ("active", "rejected", "hired", "converted")
UPDATABLE_STATUSES: Final = ("active", "rejected", "hired")
_EMAIL: Final = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
_RANDOM_ID_START: Final = 10_000_000


def timestamp(moment: datetime.datetime | None = None) -> str:
    """Harvest's timestamp format, e.g. "2016-11-17T16:13:48.888Z"."""
    moment = moment or datetime.datetime.now(datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass
class User:
    """A Greenhouse user."""

    id: int
    first_name: str
    last_name: str
    emails: list[str]
    site_admin: bool = False
    disabled: bool = False
    employee_id: str | None = None
    created_at: str = field(default_factory=timestamp)
    updated_at: str = field(default_factory=timestamp)

    def has_email(self, email: str) -> bool:
        """Primary or secondary, case-insensitively."""
        wanted = email.strip().lower()
        return any(address.lower() == wanted for address in self.emails)


@dataclass
class Application:
    """An application; `values` holds custom-field values by field id."""

    id: int
    candidate_id: int
    status: str
    applied_at: str
    last_activity_at: str
    rejected_at: str | None = None
    deleted: bool = False
    values: dict[int, Any] = field(default_factory=dict)


_DELETE: Final = object()


class Organisation:
    """The records of one organisation, rendered as Harvest JSON."""

    def __init__(self, first_id: int | None = None) -> None:
        self._next_id = (
            first_id
            if first_id is not None
            else _RANDOM_ID_START + secrets.randbelow(_RANDOM_ID_START * 100)
        )
        self.users: dict[int, User] = {}
        self.applications: dict[int, Application] = {}
        self.fields: dict[int, CustomField] = {}

    def allocate_id(self) -> int:
        """A new id, unique across every kind of record."""
        allocated = self._next_id
        self._next_id += 1
        return allocated

    # --- users ----------------------------------------------------------------------

    def add_user(
        self,
        first_name: str,
        last_name: str,
        email: str,
        *,
        site_admin: bool = False,
        disabled: bool = False,
        secondary_emails: Sequence[str] = (),
        employee_id: str | None = None,
    ) -> User:
        """A new user; HarvestError (422) for a blank name, an invalid or taken e-mail."""
        errors = [
            field_error(f"{label} can't be blank", key)
            for key, label, value in (
                ("first_name", "First name", first_name),
                ("last_name", "Last name", last_name),
            )
            if not isinstance(value, str) or not value.strip()
        ]
        addresses = [email, *secondary_emails]
        for address in addresses:
            if not isinstance(address, str) or not _EMAIL.fullmatch(address.strip()):
                errors.append(field_error("Email is invalid", "email"))
            elif self.users_by_email(address):
                errors.append(field_error("Email has already been taken", "email"))
        if errors:
            raise validation_error(errors)
        user = User(
            id=self.allocate_id(),
            first_name=first_name.strip(),
            last_name=last_name.strip(),
            emails=[address.strip() for address in addresses],
            site_admin=site_admin,
            disabled=disabled,
            employee_id=employee_id,
        )
        self.users[user.id] = user
        return user

    def create_user(self, body: Any) -> User:
        """`POST /v1/users`: a Basic user (never a Site Admin: Harvest cannot make one)."""
        if not isinstance(body, dict):
            raise validation_error([field_error("The body must be a JSON object", "body")])
        errors: list[dict[str, str]] = []
        for key, label in (("first_name", "First name"), ("last_name", "Last name")):
            if not isinstance(body.get(key), str) or not body[key].strip():
                errors.append(field_error(f"{label} can't be blank", key))
        email = body.get("email")
        if not isinstance(email, str) or not email.strip():
            errors.append(field_error("Email can't be blank", "email"))
        elif not _EMAIL.fullmatch(email.strip()):
            errors.append(field_error("Email is invalid", "email"))
        elif self.users_by_email(email):
            errors.append(field_error("Email has already been taken", "email"))
        if "send_email_invite" in body and not isinstance(body["send_email_invite"], bool):
            errors.append(field_error("send_email_invite must be a boolean", "send_email_invite"))
        employee_id = body.get("employee_id")
        if employee_id is not None and not isinstance(employee_id, str):
            errors.append(field_error("employee_id must be a string", "employee_id"))
        if errors:
            raise validation_error(errors)
        return self.add_user(
            body["first_name"], body["last_name"], body["email"], employee_id=employee_id
        )

    def user_or_404(self, raw_id: str | int) -> User:
        """The user with this id (a path segment), or Harvest's 404."""
        user = self.users.get(_id(raw_id))
        if user is None:
            raise not_found()
        return user

    def users_by_email(self, email: str) -> list[User]:
        """Users with this primary or secondary e-mail (at most one)."""
        return [user for user in self.users.values() if user.has_email(email)]

    def user_json(self, user: User, *, attributes: bool = False) -> dict[str, Any]:
        """The user object of reference §3.7; `attributes` adds the user-attribute custom
        fields, as `user_attributes=true` does."""
        result: dict[str, Any] = {
            "id": user.id,
            "name": f"{user.first_name} {user.last_name}",
            "first_name": user.first_name,
            "last_name": user.last_name,
            "primary_email_address": user.emails[0],
            "updated_at": user.updated_at,
            "created_at": user.created_at,
            "disabled": user.disabled,
            "site_admin": user.site_admin,
            "emails": list(user.emails),
            "employee_id": user.employee_id,
            "linked_candidate_ids": [],
            "offices": [],
            "departments": [],
        }
        if attributes:
            result.update(self._custom_field_json("user_attribute", {}))
        return result

    # --- custom fields ---------------------------------------------------------------

    def create_field(self, body: Any) -> CustomField:
        """`POST /v1/custom_fields` (reference §3.9); HarvestError (422) when invalid or
        when an active field of the same field_type already has the name (compared
        case-insensitively: an assumption, the docs say nothing)."""
        if not isinstance(body, dict):
            raise validation_error([field_error("The body must be a JSON object", "body")])
        errors = creation_errors(body)
        if errors:
            raise validation_error(errors)
        name: str = body["name"].strip()
        field_type: str = body["field_type"]
        same_type = [f for f in self.fields.values() if f.field_type == field_type]
        if any(f.active and f.name.lower() == name.lower() for f in same_type):
            raise validation_error([field_error("Name has already been taken", "name")])
        # Keys are immutable, so one of a deactivated field is never handed out again.
        name_key = derive_name_key(name, {f.name_key for f in same_type})
        options = []
        if body["value_type"] in SELECT_TYPES:
            options = [
                {
                    "id": self.allocate_id(),
                    "name": option["name"],
                    "priority": option["priority"],
                    "external_id": option.get("external_id"),
                }
                for option in body["custom_field_options"]
            ]
        created = CustomField(
            id=self.allocate_id(),
            name=name,
            field_type=field_type,
            value_type=body["value_type"],
            name_key=name_key,
            priority=max((f.priority for f in same_type), default=-1) + 1,
            # "offer fields always private"
            private=field_type == "offer" or bool(body.get("private", False)),
            required=bool(body.get("required", False)),
            require_approval=bool(body.get("require_approval", False)),
            trigger_new_version=bool(body.get("trigger_new_version", False)),
            description=body.get("description"),
            expose_in_job_board_api=bool(body.get("expose_in_job_board_api", False)),
            api_only=bool(body.get("api_only", False)),
            template_token_string=(
                "{{" + name_key.upper() + "}}" if body.get("generate_email_token") else None
            ),
            options=options,
        )
        self.fields[created.id] = created
        return created

    def fields_of(self, field_type: str | None, *, include_inactive: bool) -> list[CustomField]:
        """Fields of one type (every type for None), in id order."""
        return [
            f
            for f in self.fields.values()
            if (field_type is None or f.field_type == field_type) and (include_inactive or f.active)
        ]

    def field_by_name_key(self, field_type: str, name_key: str) -> CustomField | None:
        """The field of this type with this immutable key (active or not)."""
        for candidate in self.fields.values():
            if candidate.field_type == field_type and candidate.name_key == name_key:
                return candidate
        return None

    def _custom_field_json(self, field_type: str, values: Mapping[int, Any]) -> dict[str, Any]:
        active = self.fields_of(field_type, include_inactive=False)
        return {
            # Every active field, null when unset (the docs' examples show nulls).
            "custom_fields": {f.name_key: values.get(f.id) for f in active},
            "keyed_custom_fields": {
                f.name_key: {"name": f.name, "type": f.value_type, "value": values[f.id]}
                for f in active
                if f.id in values
            },
        }

    # --- applications ----------------------------------------------------------------

    def add_application(self, candidate_id: int | None = None, status: str = "active") -> int:
        """A new application (of a new candidate unless `candidate_id` is given)."""
        if status not in APPLICATION_STATUSES:
            raise ValueError(f"status must be one of {APPLICATION_STATUSES}, not {status!r}")
        now = timestamp()
        application = Application(
            id=self.allocate_id(),
            candidate_id=candidate_id if candidate_id is not None else self.allocate_id(),
            status=status,
            applied_at=now,
            last_activity_at=now,
            rejected_at=now if status == "rejected" else None,
        )
        self.applications[application.id] = application
        return application.id

    def application_or_404(self, raw_id: str | int) -> Application:
        """The application, Harvest's 404 when unknown, and its own 404 when deleted."""
        application_id = _id(raw_id)
        application = self.applications.get(application_id)
        if application is None:
            raise not_found()
        if application.deleted:
            raise HarvestError(404, {"message": f"Application {application_id} has been deleted."})
        return application

    @staticmethod
    def application_basics(application: Application) -> dict[str, Any]:
        """What v1 and v3 show of every application alike."""
        return {
            "id": application.id,
            "candidate_id": application.candidate_id,
            "prospect": False,
            "applied_at": application.applied_at,
            "rejected_at": application.rejected_at,
            "last_activity_at": application.last_activity_at,
            "status": application.status,
        }

    def application_json(self, application: Application) -> dict[str, Any]:
        """The application object of `GET/PATCH /v1/applications/{id}`."""
        return {
            **self.application_basics(application),
            "location": None,
            "source": None,
            "credited_to": None,
            "rejection_reason": None,
            "rejection_details": None,
            "jobs": [],
            "job_post_id": None,
            "current_stage": None,
            "answers": [],
            "prospective_office": None,
            "prospective_department": None,
            "prospect_detail": {
                "prospect_pool": None,
                "prospect_stage": None,
                "prospect_owner": None,
            },
            **self._custom_field_json("application", application.values),
            "attachments": [],
        }

    def update_application(self, application: Application, body: Any) -> None:
        """`PATCH /v1/applications/{id}` (reference §3.11): writes the custom-field
        values named in the body and nothing else; every element is checked before any
        is written, so a 422 changes nothing. Other documented parameters (source_id,
        referrer, recruiter_id, ...) are accepted and ignored."""
        self.apply_changes(application, self.changes(application, body))

    def changes(
        self, application: Application, body: Any, *, id_key: str = "id", v3: bool = False
    ) -> list[tuple[int, Any]]:
        """(field id, value or _DELETE) for each custom_fields element of a PATCH body,
        every one checked (HarvestError 422 if any is wrong). Elements name their field
        by `id_key` (v1 "id", v3 "custom_field_id") or by `name_key`."""
        if application.status not in UPDATABLE_STATUSES:
            raise validation_error(
                [
                    field_error(
                        "Only applications whose status is active, rejected or hired can be "
                        f"updated; this one is {application.status}",
                        "status",
                    )
                ]
            )
        if not isinstance(body, dict):
            raise validation_error([field_error("The body must be a JSON object", "body")])
        elements = body.get("custom_fields", [])
        if not isinstance(elements, list):
            raise validation_error([field_error("custom_fields must be an array", "custom_fields")])
        changes: list[tuple[int, Any]] = []
        errors: list[dict[str, str]] = []
        for element in elements:
            try:
                changes.append(self._change(element, id_key, v3))
            except BadValue as problem:
                errors.append(field_error(str(problem), "custom_fields"))
        if errors:
            raise validation_error(errors)
        return changes

    def apply_changes(
        self, application: Application, changes: list[tuple[int, Any]], *, replace: bool = False
    ) -> None:
        """Writes checked changes; with `replace`, every active application field not among
        them loses its value (a v3 PATCH that replaces the collection, row 27)."""
        if replace:
            written = {field_id for field_id, _ in changes}
            for custom_field in self.fields_of("application", include_inactive=False):
                if custom_field.id not in written:
                    application.values.pop(custom_field.id, None)
        for field_id, value in changes:
            if value is _DELETE:
                application.values.pop(field_id, None)
            else:
                application.values[field_id] = value
        application.last_activity_at = timestamp()

    def set_value(self, application: Application, name_key: str, value: Any) -> None:
        """Write (None: remove) an application field's value as someone in Greenhouse
        would; ValueError for an unknown field or a value that does not fit it."""
        custom_field = self.field_by_name_key("application", name_key)
        if custom_field is None:
            raise KeyError(f"no application custom field with name_key {name_key!r}")
        if value is None:
            application.values.pop(custom_field.id, None)
            return
        try:
            # As a v3 read shows it: a currency is {"value", "unit"}, a user its id.
            application.values[custom_field.id] = coerce_value(
                custom_field, {"value": value}, self._user_value, v3=True
            )
        except BadValue as problem:
            raise ValueError(f"custom field {name_key} {problem}") from problem

    def _change(self, element: Any, id_key: str, v3: bool) -> tuple[int, Any]:
        """(field id, new value or _DELETE) for one custom_fields element, or BadValue."""
        if not isinstance(element, dict):
            raise BadValue("Each custom_fields element must be an object")
        if v3 and "id" in element:
            # Row 26: v3 names a field by custom_field_id or name_key; "{"id": …} is likely
            # a 422" (inference, the worst reading).
            raise BadValue("Unknown key id: name the field by custom_field_id or name_key")
        field_id, name_key = element.get(id_key), element.get("name_key")
        if field_id is None and name_key is None:
            raise BadValue(f"Each custom_fields element needs an {id_key} or a name_key")
        if field_id is not None:
            label = str(field_id)
            found = self.fields.get(_id(field_id)) if isinstance(field_id, int | str) else None
            if found is not None and name_key is not None and found.name_key != name_key:
                raise BadValue(f"Custom field {field_id} does not have name_key {name_key}")
        else:
            label = str(name_key)
            found = (
                self.field_by_name_key("application", name_key)
                if isinstance(name_key, str)
                else None
            )
        if found is None:
            raise BadValue(f"Custom field {label} does not exist")
        if found.field_type != "application":
            raise BadValue(f"Custom field {label} is not an application custom field")
        if not found.active:
            raise BadValue(f"Custom field {label} is not active")
        if "delete_value" in element:
            if element["delete_value"] != "true":
                raise BadValue(f'Custom field {label}: delete_value must be the string "true"')
            return found.id, _DELETE
        try:
            return found.id, coerce_value(found, element, self._user_value, v3=v3)
        except BadValue as problem:
            raise BadValue(f"Custom field {label} {problem}") from problem

    def _user_value(self, raw: Any) -> dict[str, Any] | None:
        if not isinstance(raw, int) or isinstance(raw, bool) or raw not in self.users:
            return None
        user = self.users[raw]
        return {
            "user_id": user.id,
            "name": f"{user.first_name} {user.last_name}",
            "email": user.emails[0],
        }


def _id(raw: str | int) -> int:
    """A path id; anything that is not a positive integer matches nothing (-1)."""
    if isinstance(raw, int):
        return raw
    return int(raw) if raw.isascii() and raw.isdigit() else -1


__all__ = ["FIELD_TYPES", "Application", "CustomField", "Organisation", "User", "timestamp"]
