"""Checking a connection against Greenhouse: which needed permissions (v1) or scopes (v3)
the credential lacks, whether the integration user exists (creating it when it does not
and we can), and whether that user is a Site Admin yet.

v1 reads with the key, whoever asks. v3 reads as a user: "GET endpoints are only accessible
by site admin users. All other user types will not return results" (harvest-v3-facts.md
E6), and whether the service account counts as one is unknown. So v3 reads as the
integration user (it sees something once it is a Site Admin), else as the Site Admin named
at connect, else as the service account; and a read that shows nothing is never taken to
mean that the integration user does not exist.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import structlog

from harvest_sync.app import harvest_contract as contract
from harvest_sync.app.harvest_api import HarvestApi, HarvestUser, Missing
from harvest_sync.store.models import Connection

log = structlog.get_logger("harvest_sync.app.checks")


@dataclass(slots=True)
class Check:
    missing: Missing
    user: HarvestUser | None
    created: bool
    # v3: whom the reads were made as (None: the service account).
    checked_as: int | None = None

    def apply(self, connection: Connection, now: dt.datetime) -> None:
        connection.missing_permissions = list(self.missing.names)
        connection.missing_ambiguous = self.missing.ambiguous
        connection.checked_as_user_id = self.checked_as
        connection.checked_at = now
        if self.user is not None:
            if connection.integration_user_id != self.user.id:
                connection.integration_user_created = self.created
            connection.integration_user_id = self.user.id
            connection.integration_user_site_admin = self.user.active_site_admin
        elif connection.integration_user_id is None:
            connection.integration_user_site_admin = False


@dataclass(frozen=True, slots=True)
class Want:
    """What a check looks for: the integration user's address and name, the Site Admin
    named at connect (if any) and the integration user found before (if any)."""

    email: str
    brand: str
    acting_user_id: int | None
    known_user_id: int | None = None


async def _create(api: HarvestApi, want: Want, acting: int) -> HarvestUser:
    user = await api.create_user(
        first_name=want.brand, last_name="Integration", email=want.email, acting_user_id=acting
    )
    log.info("harvest.integration_user_created", user_id=user.id)
    return user


def first_site_admin(users: Sequence[HarvestUser]) -> int | None:
    return next((user.id for user in users if user.active_site_admin), None)


async def check_v1(api: HarvestApi, want: Want) -> Check:
    """The seed's flow: probes on behalf of the named Site Admin, the user found by e-mail,
    else created on behalf of the named or the first active Site Admin."""
    missing = await api.missing_permissions(reader=None, writer=want.acting_user_id)
    user: HarvestUser | None = None
    created = False
    if contract.LIST_USERS not in missing.names:
        user = await api.user_by_email(want.email, as_user=None)
        if user is None and contract.ADD_USER not in missing.names:
            acting = want.acting_user_id or first_site_admin(await api.users(as_user=None))
            if acting is not None:
                user, created = await _create(api, want, acting), True
    return Check(missing=missing, user=user, created=created)


async def check_v3(api: HarvestApi, want: Want) -> Check:
    # E16: scopes added since a token was issued reach new tokens only.
    await api.forget_tokens()
    candidates = dict.fromkeys(
        reader for reader in (want.known_user_id, want.acting_user_id) if reader is not None
    )
    readers: list[int | None] = [*candidates, None]
    refused = False
    for reader in readers:
        seen = await api.sees_users(as_user=reader)
        if seen == "visible":
            return await _check_as(api, want, reader)
        refused = refused or seen == "refused"
    # Nobody we may read as sees anything: a missing scope (if Greenhouse said 403), or no
    # Site Admin among them.
    missing = Missing((contract.USERS_LIST,), ambiguous=True) if refused else Missing()
    known = None
    if want.known_user_id is not None:
        # It read nothing as itself: it is not a Site Admin (now).
        known = HarvestUser(
            id=want.known_user_id, emails=(want.email,), site_admin=False, deactivated=False
        )
    return Check(missing=missing, user=known, created=False, checked_as=readers[0])


async def _check_as(api: HarvestApi, want: Want, reader: int | None) -> Check:
    user = await api.user_by_email(want.email, as_user=reader)
    writer = user.id if user is not None and user.active_site_admin else want.acting_user_id
    if writer is None:
        writer = first_site_admin(await api.users(as_user=reader))
    missing = await api.missing_permissions(reader=reader, writer=writer)
    created = False
    cannot_create = (
        contract.USERS_CREATE in missing.names or contract.USERS_CREATE in missing.unknown
    )
    if user is None and writer is not None and not cannot_create:
        user, created = await _create(api, want, writer), True
    return Check(missing=missing, user=user, created=created, checked_as=reader)
