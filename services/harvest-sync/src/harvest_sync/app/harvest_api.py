"""The Harvest API as harvest-sync uses it: one interface, a v1 and a v3 implementation.

Only what the integration needs: find or create its user, find or create application
custom fields, write custom-field values on an application, and say which of the needed
permissions (v1) or scopes (v3) the credential lacks. Callers name the Greenhouse user a
request is made as: `acting_user_id` for writes (v1 sends it as `On-Behalf-Of`, v3 as the
token's `sub`) and `as_user` for reads (v3 only: "GET endpoints are only accessible by site
admin users", harvest-v3-facts.md E6; v1 reads with the key alone).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

# What a read of the users shows a reader: some users, nothing (not a Site Admin, E6), or
# a 403 (a missing scope, or not a Site Admin: rows 34-35).
Visibility = Literal["visible", "empty", "refused"]


@dataclass(frozen=True, slots=True)
class HarvestUser:
    id: int
    emails: tuple[str, ...]
    site_admin: bool
    deactivated: bool

    @classmethod
    def from_v1(cls, body: Mapping[str, Any]) -> HarvestUser:
        return cls._parse(body, primary="primary_email_address", deactivated="disabled")

    @classmethod
    def from_v3(cls, body: Mapping[str, Any]) -> HarvestUser:
        # Row 17: "`disabled`→`deactivated` · `primary_email_address`→`primary_email`".
        return cls._parse(body, primary="primary_email", deactivated="deactivated")

    @classmethod
    def _parse(cls, body: Mapping[str, Any], *, primary: str, deactivated: str) -> HarvestUser:
        emails = [str(e) for e in body.get("emails") or ()]
        address = body.get(primary)
        if address and address not in emails:
            emails.insert(0, str(address))
        return cls(
            id=int(body["id"]),
            emails=tuple(emails),
            site_admin=bool(body.get("site_admin")),
            deactivated=bool(body.get(deactivated)),
        )

    @property
    def active_site_admin(self) -> bool:
        return self.site_admin and not self.deactivated


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
    """One custom-field value to write: by the field's id (its name_key, or else its name,
    says which value of the application it replaces when the others are written back, v3)."""

    field_id: int
    value: float | int
    name_key: str = ""
    name: str = ""


@dataclass(frozen=True, slots=True)
class Missing:
    """The needed permissions (v1 labels) or scopes (v3) the credential lacks. `ambiguous`:
    found by a 403 that did not name the scope, which is also what a user who is not a Site
    Admin gets (v3, rows 34-35). `unknown`: could not be checked (no Site Admin to act as)."""

    names: tuple[str, ...] = ()
    ambiguous: bool = False
    unknown: tuple[str, ...] = ()


class HarvestApi(Protocol):
    @property
    def mode(self) -> str:
        """ "v1" or "v3"."""
        ...

    @property
    def needed(self) -> tuple[str, ...]:
        """The permissions (v1) or scopes (v3) the integration needs."""
        ...

    async def missing_permissions(self, *, reader: int | None, writer: int | None) -> Missing:
        """Which of `needed` the credential lacks: reads checked as `reader`, writes as
        `writer` (None: not checked, v3). Raises CredentialRefused when Greenhouse refuses
        the credential itself."""
        ...

    async def sees_users(self, *, as_user: int | None) -> Visibility:
        """Whether a read of the users as that user shows any (v1: always)."""
        ...

    async def users(self, *, as_user: int | None) -> list[HarvestUser]:
        """Every user of the Greenhouse organization, following pagination."""
        ...

    async def user_by_email(self, email: str, *, as_user: int | None) -> HarvestUser | None: ...

    async def create_user(
        self, *, first_name: str, last_name: str, email: str, acting_user_id: int
    ) -> HarvestUser:
        """Creates it; after a create that timed out, finds it rather than creating it
        twice (v3, E5)."""
        ...

    async def application_fields(self, *, as_user: int | None) -> list[HarvestField]:
        """The organization's active application custom fields."""
        ...

    async def create_number_field(
        self, name: str, *, description: str, acting_user_id: int
    ) -> HarvestField:
        """Creates it; after a create that timed out, finds it rather than creating it
        twice (v3, E5)."""
        ...

    async def update_application(
        self, application_id: int, values: Sequence[FieldValue], *, acting_user_id: int
    ) -> None:
        """Writes `values` into the application's custom fields; the others keep their
        values."""
        ...

    async def forget_tokens(self) -> None:
        """Drops cached v3 tokens, whose scopes may be out of date (E16); v1: nothing."""
        ...
