"""Custom fields as Harvest defines them (reference §3.9-§3.11): the enumerations, the
validation of `POST /v1/custom_fields`, the immutable `name_key`, and what a value written
through `PATCH /v1/applications/{id}` must look like for each value type.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from greenhouse_emulator.harvest.answers import field_error

FIELD_TYPES: Final = (
    "job",
    "candidate",
    "application",
    "offer",
    "opening",
    "rejection_question",
    "referral_question",
    "user_attribute",
)
# The URL filter of List Custom Fields documents these; `opening` there is UNCONFIRMED,
# so the emulator answers 404 for it.
LISTABLE_FIELD_TYPES: Final = (
    "offer",
    "candidate",
    "application",
    "job",
    "rejection_question",
    "referral_question",
    "user_attribute",
)
VALUE_TYPES: Final = (
    "short_text",
    "long_text",
    "yes_no",
    "single_select",
    "multi_select",
    "currency",
    "currency_range",
    "number",
    "number_range",
    "date",
    "url",
    "user",
)
USER_ATTRIBUTE_VALUE_TYPES: Final = ("single_select", "multi_select", "yes_no", "user")
SELECT_TYPES: Final = ("single_select", "multi_select")
_BOOLEAN_ATTRIBUTES: Final = (
    "private",
    "required",
    "require_approval",
    "trigger_new_version",
    "expose_in_job_board_api",
    "api_only",
    "generate_email_token",
)
_NUMERIC_STRING: Final = re.compile(r"\s*-?(\d+(\.\d*)?|\.\d+)\s*")
_NON_ALPHANUMERIC: Final = re.compile(r"[^a-z0-9]+")


@dataclass
class CustomField:
    """One custom field of the organisation."""

    id: int
    name: str
    field_type: str
    value_type: str
    name_key: str
    priority: int
    active: bool = True
    private: bool = False
    required: bool = False
    require_approval: bool = False
    trigger_new_version: bool = False
    description: str | None = None
    expose_in_job_board_api: bool = False
    api_only: bool = False
    template_token_string: str | None = None
    options: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The object of reference §3.10."""
        return {
            "id": self.id,
            "name": self.name,
            "active": self.active,
            "field_type": self.field_type,
            "priority": self.priority,
            "value_type": self.value_type,
            "private": self.private,
            "required": self.required,
            "require_approval": self.require_approval,
            "trigger_new_version": self.trigger_new_version,
            "name_key": self.name_key,
            "description": self.description,
            "expose_in_job_board_api": self.expose_in_job_board_api,
            "api_only": self.api_only,
            "offices": [],
            "departments": [],
            "template_token_string": self.template_token_string,
            "custom_field_options": [dict(option) for option in self.options],
        }


def derive_name_key(name: str, taken: Collection[str]) -> str:
    """The immutable field key Greenhouse derives from a new field's name: lowercase, each
    run of non-alphanumerics becomes one "_", no leading or trailing "_"; `_2`, `_3`, ...
    is appended while the key is taken. (Collapsing runs is an assumption: Rails'
    `parameterize`, which the observed keys look like, does it.)"""
    base = _NON_ALPHANUMERIC.sub("_", name.lower()).strip("_") or "custom_field"
    key, suffix = base, 1
    while key in taken:
        suffix += 1
        key = f"{base}_{suffix}"
    return key


def _enumeration(values: Collection[str]) -> str:
    return "Must be one of: " + ", ".join(values)


def creation_errors(body: Mapping[str, Any]) -> list[dict[str, str]]:
    """What is wrong with a `POST /v1/custom_fields` body (empty when nothing is)."""
    errors: list[dict[str, str]] = []
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        errors.append(field_error("Name can't be blank", "name"))
    field_type = body.get("field_type")
    if field_type not in FIELD_TYPES:
        errors.append(field_error(_enumeration(FIELD_TYPES), "field_type"))
    allowed = USER_ATTRIBUTE_VALUE_TYPES if field_type == "user_attribute" else VALUE_TYPES
    value_type = body.get("value_type")
    if value_type not in allowed:
        errors.append(field_error(_enumeration(allowed), "value_type"))
    for attribute in _BOOLEAN_ATTRIBUTES:
        if attribute in body and not isinstance(body[attribute], bool):
            errors.append(field_error(f"{attribute} must be a boolean", attribute))
    description = body.get("description")
    if description is not None and not isinstance(description, str):
        errors.append(field_error("description must be a string", "description"))
    if value_type in SELECT_TYPES:
        errors.extend(_option_errors(body.get("custom_field_options")))
    return errors


def _option_errors(options: Any) -> list[dict[str, str]]:
    where = "custom_field_options"
    if not isinstance(options, list) or not options:
        return [
            field_error(
                "custom_field_options are required for single_select and multi_select", where
            )
        ]
    errors: list[dict[str, str]] = []
    for option in options:
        if not isinstance(option, dict):
            errors.append(field_error("Each custom field option must be an object", where))
            continue
        if not isinstance(option.get("name"), str) or not option["name"].strip():
            errors.append(field_error("Custom field option name can't be blank", where))
        priority = option.get("priority")
        if not isinstance(priority, int) or isinstance(priority, bool):
            errors.append(field_error("Custom field option priority must be an integer", where))
        external_id = option.get("external_id")
        if external_id is not None and not isinstance(external_id, str):
            errors.append(field_error("Custom field option external_id must be a string", where))
    return errors


class BadValue(ValueError):
    """A value that does not fit its custom field."""


def number(raw: Any) -> int | float:
    """A JSON number, or a numeric string turned into one (BadValue otherwise)."""
    if isinstance(raw, bool):
        raise BadValue("must be a number")
    if isinstance(raw, int | float):
        return raw
    if isinstance(raw, str) and _NUMERIC_STRING.fullmatch(raw):
        text = raw.strip()
        return float(text) if "." in text else int(text)
    raise BadValue("must be a number")


def _text(raw: Any) -> str:
    if isinstance(raw, str) and raw.strip():
        return raw
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return str(raw)
    raise BadValue("must be a non-blank string")


def _yes_no(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if raw in ("true", "false"):
        return bool(raw == "true")
    raise BadValue("must be true or false")


def _date(raw: Any) -> str:
    if isinstance(raw, str):
        try:
            return datetime.date.fromisoformat(raw).isoformat()
        except ValueError:
            pass
    raise BadValue("must be a date (YYYY-MM-DD)")


def _unit(element: Mapping[str, Any]) -> str:
    unit = element.get("unit")
    if not isinstance(unit, str) or not re.fullmatch(r"[A-Z]{3}", unit):
        raise BadValue("needs a 3-letter ISO-4217 unit")
    return unit


def _range(raw: Any) -> dict[str, int | float]:
    if not isinstance(raw, dict) or "min_value" not in raw or "max_value" not in raw:
        raise BadValue("must be an object with min_value and max_value")
    return {"min_value": number(raw["min_value"]), "max_value": number(raw["max_value"])}


def _option_name(options: list[dict[str, Any]], raw: Any) -> str:
    for option in options:
        if (isinstance(raw, int) and not isinstance(raw, bool) and option["id"] == raw) or (
            isinstance(raw, str) and option["name"] == raw
        ):
            return str(option["name"])
    raise BadValue(f"has no option {raw!r}")


def _as_read(custom_field: CustomField, element: Mapping[str, Any]) -> Mapping[str, Any]:
    """A v3 element whose value is in the shape a v3 read shows it (BM sends "current
    values ... back exactly as v3 returned them"), as a v1 element: a currency's
    `{"value", "unit"}`, a currency range's unit inside it, a user's `{"user_id", ...}`."""
    raw = element.get("value")
    if not isinstance(raw, dict):
        return element
    value_type = custom_field.value_type
    if value_type == "currency" and "value" in raw:
        return {**element, "value": raw["value"], "unit": raw.get("unit", element.get("unit"))}
    if value_type == "currency_range" and "unit" in raw:
        inner = {k: v for k, v in raw.items() if k != "unit"}
        return {**element, "value": inner, "unit": raw["unit"]}
    if value_type == "user" and "user_id" in raw:
        return {**element, "value": raw["user_id"]}
    return element


def coerce_value(
    custom_field: CustomField,
    element: Mapping[str, Any],
    user_value: Callable[[Any], dict[str, Any] | None],
    *,
    v3: bool = False,
) -> Any:
    """The value to store for a custom-field element of a PATCH (reference §3.11), or
    BadValue. Numbers accept a JSON number or a numeric string; selects an option id (or,
    for single_select, an option's exact name) and store the option's name; `user` a user
    id (`user_value` renders it, or None when there is no such user). With `v3`, a value
    may also be given as a v3 read shows it."""
    if v3:
        element = _as_read(custom_field, element)
    raw = element.get("value")
    if raw is None or raw == "":
        raise BadValue('cannot be set to null or blank; use "delete_value": "true"')
    value_type = custom_field.value_type
    if value_type == "number":
        return number(raw)
    if value_type in ("short_text", "long_text", "url"):
        return _text(raw)
    if value_type == "yes_no":
        return _yes_no(raw)
    if value_type == "date":
        return _date(raw)
    if value_type == "single_select":
        return _option_name(custom_field.options, raw)
    if value_type == "multi_select":
        if not isinstance(raw, list) or not raw:
            raise BadValue("must be an array of option ids")
        return [_option_name(custom_field.options, item) for item in raw]
    if value_type == "currency":
        return {"value": number(raw), "unit": _unit(element)}
    if value_type == "number_range":
        return _range(raw)
    if value_type == "currency_range":
        return {**_range(raw), "unit": _unit(element)}
    if value_type == "user":
        rendered = user_value(raw)
        if rendered is None:
            raise BadValue("must be the id of a Greenhouse user")
        return rendered
    raise BadValue(f"has an unknown value type {value_type}")
