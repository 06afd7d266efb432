"""The application custom fields harvest-sync writes: found by name, else created, ids cached.

Fields are named "<brand> Score" (the test's total) and "<brand> <skill> Score" (each
skill), and have value type number so recruiters can filter on them. An existing active
application field with the same name (say, one an admin made by hand) is used as it is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from harvest_sync.app.harvest_api import HarvestApi, HarvestField
from harvest_sync.domain.harvest_errors import Rejected
from harvest_sync.store.repository import Repository

log = structlog.get_logger("harvest_sync.app.fields")

# Greenhouse's limit on a field name is not documented; names are cut well below the
# column's 255.
_MAX_NAME = 200


@dataclass(frozen=True, slots=True)
class KnownField:
    """A field we write: Greenhouse's id and name_key."""

    id: int
    name_key: str


def total_field_name(brand: str) -> str:
    return f"{brand} Score"


def skill_field_name(brand: str, skill: str) -> str:
    return f"{brand} {' '.join(skill.split())} Score"[:_MAX_NAME]


class FieldCatalog:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, brand: str) -> None:
        self._sessions = sessions
        self._brand = brand
        # One resolution at a time per organization, so concurrent pushes of a new skill
        # do not create its field twice. (Replicas may race; the loser finds the winner's
        # field by name after Greenhouse refuses the duplicate.)
        self._locks: dict[str, asyncio.Lock] = {}

    async def ids(
        self, organization_id: str, names: Sequence[str], api: HarvestApi, *, acting_user_id: int
    ) -> dict[str, KnownField]:
        """Greenhouse's field for each name, finding or creating what is not cached. Lists
        and creates act as `acting_user_id` (v3 reads need a Site Admin, E6)."""
        known = await self._cached(organization_id, names)
        if len(known) == len(set(names)):
            return known
        async with self._locks.setdefault(organization_id, asyncio.Lock()):
            known = await self._cached(organization_id, names)
            missing = [n for n in dict.fromkeys(names) if n not in known]
            if not missing:
                return known
            existing = _by_name(await api.application_fields(as_user=acting_user_id))
            for name in missing:
                field, created = existing.get(name.casefold()), False
                if field is None:
                    field, created = await self._create(api, name, acting_user_id), True
                await self._remember(organization_id, name, field, created=created)
                known[name] = KnownField(field.id, field.name_key)
            return known

    async def forget(self, organization_id: str) -> None:
        """Drops the cached ids (a field was deleted in Greenhouse): found again next time."""
        async with self._sessions.begin() as session:
            await Repository(session).forget_fields(organization_id)

    async def _create(self, api: HarvestApi, name: str, acting_user_id: int) -> HarvestField:
        description = f"Written by the {self._brand} integration from assessment results."
        try:
            field = await api.create_number_field(
                name, description=description, acting_user_id=acting_user_id
            )
        except Rejected:
            # Someone (another replica, an admin) may have created it since we listed.
            listed = await api.application_fields(as_user=acting_user_id)
            found = _by_name(listed).get(name.casefold())
            if found is None:
                raise
            return found
        else:
            log.info("harvest.custom_field_created", field_id=field.id, name_key=field.name_key)
        return field

    async def _cached(self, organization_id: str, names: Sequence[str]) -> dict[str, KnownField]:
        async with self._sessions.begin() as session:
            cached = await Repository(session).cached_fields(organization_id, names)
        return {field.name: KnownField(field.greenhouse_id, field.name_key) for field in cached}

    async def _remember(
        self, organization_id: str, name: str, field: HarvestField, *, created: bool
    ) -> None:
        async with self._sessions.begin() as session:
            await Repository(session).remember_field(
                organization_id,
                name,
                greenhouse_id=field.id,
                name_key=field.name_key,
                created_by_us=created,
            )


def _by_name(fields: Sequence[HarvestField]) -> dict[str, HarvestField]:
    found: dict[str, HarvestField] = {}
    # A number field wins over another type with the same name.
    for field in sorted(fields, key=lambda f: f.value_type == "number"):
        if field.active:
            found[field.name.casefold()] = field
    return found
