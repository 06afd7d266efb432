"""The one place text from outside is judged: control characters, lengths, email addresses.

Every service validates what it is given with these (the gateway too, so that bad input
is a 422 naming the field before any call is made), so a rule cannot differ between the
door and the room behind it. Email addresses are judged by email-validator's syntax rules
only: no DNS look-up, which would make a request's fate depend on someone else's resolver.
"""

from __future__ import annotations

import re
from typing import Protocol, TypedDict

from email_validator import EmailNotValidError, validate_email

from alooba_common.errors import InvalidArgument

# Unicode's control characters (category Cc: C0, DEL and C1). None belongs in a name, an
# id, an address or a URL: CR and LF split an email header in two, ESC recolours a
# terminal, NUL cannot be stored by PostgreSQL.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Free text (a Greenhouse error message, an assessment answer) may keep its lines and tabs.
_CONTROL_IN_FREE_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

MAX_EMAIL_LENGTH = 320
# A candidate's contact, as the candidates table holds it (candidates.store.models); the
# gateway's request schema and assessments judge it by the same numbers, through here.
MAX_NAME_LENGTH = 200
MAX_PHONE_LENGTH = 64


def has_control_characters(value: str, *, free_text: bool = False) -> bool:
    """Whether `value` holds a control character (tab, CR and LF allowed in free text)."""
    pattern = _CONTROL_IN_FREE_TEXT if free_text else _CONTROL
    return pattern.search(value) is not None


def email_problem(value: str) -> str | None:
    """Why `value` is not one email address (None when it is): only the reason, never the
    value, which is PII."""
    if len(value) > MAX_EMAIL_LENGTH:
        return f"must be at most {MAX_EMAIL_LENGTH} characters"
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        return "is not an email address"
    return None


def normalized_email(value: str, field: str) -> str:
    """`value` as one email address in its normalized form (the domain lower-cased,
    Unicode normalized); InvalidArgument naming `field` otherwise."""
    try:
        checked = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError:
        raise InvalidArgument(f"{field} is not an email address") from None
    if len(checked.normalized) > MAX_EMAIL_LENGTH:
        raise InvalidArgument(f"{field} must be at most {MAX_EMAIL_LENGTH} characters")
    return str(checked.normalized)


def checked_text(
    value: str, field: str, *, max_length: int, required: bool = True, free_text: bool = False
) -> str:
    """`value` stripped of surrounding whitespace, refused (InvalidArgument naming
    `field`) when empty and required, longer than `max_length` or holding a control
    character (tab, CR and LF allowed in free text)."""
    value = value.strip()
    if required and not value:
        raise InvalidArgument(f"{field} must not be empty")
    if len(value) > max_length:
        raise InvalidArgument(f"{field} must be at most {max_length} characters")
    if has_control_characters(value, free_text=free_text):
        raise InvalidArgument(f"{field} must not contain control characters")
    return value


def optional_text(value: str | None, field: str, *, max_length: int) -> str | None:
    """None for a missing or blank value, else `checked_text`."""
    if value is None or not value.strip():
        return None
    return checked_text(value, field, max_length=max_length)


class Contact(Protocol):
    """A candidate's contact as every service carries it (each has its own dataclass)."""

    @property
    def first_name(self) -> str: ...
    @property
    def last_name(self) -> str: ...
    @property
    def preferred_name(self) -> str | None: ...
    @property
    def email(self) -> str: ...
    @property
    def phone_number(self) -> str | None: ...


class ContactFields(TypedDict):
    first_name: str
    last_name: str
    preferred_name: str | None
    email: str
    phone_number: str | None


def checked_contact(contact: Contact, prefix: str = "") -> ContactFields:
    """The contact's fields checked, trimmed and the email normalized, ready for
    `dataclasses.replace`; InvalidArgument naming `prefix` + the field otherwise. The one
    rule for a contact: the candidates service that keeps it and assessments, which checks
    it before anything is created, cannot disagree."""
    return {
        "first_name": checked_text(
            contact.first_name, f"{prefix}first_name", max_length=MAX_NAME_LENGTH
        ),
        "last_name": checked_text(
            contact.last_name, f"{prefix}last_name", max_length=MAX_NAME_LENGTH
        ),
        "preferred_name": optional_text(
            contact.preferred_name, f"{prefix}preferred_name", max_length=MAX_NAME_LENGTH
        ),
        "email": normalized_email(contact.email, f"{prefix}email"),
        "phone_number": optional_text(
            contact.phone_number, f"{prefix}phone_number", max_length=MAX_PHONE_LENGTH
        ),
    }


# Every id this system makes is a uuid4's 32 lower-case hex digits.
_OUR_ID = re.compile(r"[0-9a-f]{32}")


def check_our_id(value: str, field: str) -> None:
    """InvalidArgument naming `field` unless `value` is shaped like one of our ids."""
    if _OUR_ID.fullmatch(value) is None:
        raise InvalidArgument(f"{field} must be 32 lower-case hexadecimal characters")
