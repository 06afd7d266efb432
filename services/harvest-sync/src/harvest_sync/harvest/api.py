"""The Harvest API as harvest-sync uses it: one interface, a v1 and a v3 implementation.

Only what the integration needs: find or create its user, find or create application
custom fields, write custom-field values on an application, and say which of the needed
permissions the credential lacks. Callers name the Greenhouse user a write is made on
behalf of (`acting_user_id`); v1 sends it as `On-Behalf-Of`, v3 as the token's `sub`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class HarvestUser:
    id: int
    emails: tuple[str, ...]
    site_admin: bool
    disabled: bool

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> HarvestUser:
        emails = [str(e) for e in body.get("emails") or ()]
        primary = body.get("primary_email_address")
        if primary and primary not in emails:
            emails.insert(0, str(primary))
        return cls(
            id=int(body["id"]),
            emails=tuple(emails),
            site_admin=bool(body.get("site_admin")),
            disabled=bool(body.get("disabled")),
        )


@dataclass(frozen=True, slots=True)
class HarvestField:
    id: int
    name: str
    name_key: str
    value_type: str
    active: bool

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> HarvestField:
        return cls(
            id=int(body["id"]),
            name=str(body.get("name") or ""),
            name_key=str(body.get("name_key") or ""),
            value_type=str(body.get("value_type") or ""),
            active=bool(body.get("active", True)),
        )


@dataclass(frozen=True, slots=True)
class FieldValue:
    """One custom-field value to write: by the field's id, never clearing anything."""

    field_id: int
    value: float | int


class HarvestApi(Protocol):
    @property
    def mode(self) -> str:
        """ "v1" or "v3"."""
        ...

    async def missing_permissions(self, acting_user_id: int | None) -> list[str]:
        """The needed permissions (unconfirmed.NEEDED_PERMISSIONS) the credential lacks.
        Raises CredentialRefused when Greenhouse refuses the credential itself."""
        ...

    async def users(self) -> list[HarvestUser]:
        """Every user of the Greenhouse organization, following pagination."""
        ...

    async def user_by_email(self, email: str) -> HarvestUser | None: ...

    async def create_user(
        self, *, first_name: str, last_name: str, email: str, acting_user_id: int
    ) -> HarvestUser: ...

    async def application_fields(self) -> list[HarvestField]:
        """The organization's active application custom fields."""
        ...

    async def create_number_field(
        self, name: str, *, description: str, acting_user_id: int
    ) -> HarvestField: ...

    async def update_application(
        self, application_id: int, values: Sequence[FieldValue], *, acting_user_id: int
    ) -> None:
        """Writes `values` into the application's custom fields; other fields untouched."""
        ...
