"""An organization's Harvest connection: connecting, checking, status and disconnecting.

Checking a connection (checks.py) asks Greenhouse three things: which needed permissions
(v1) or scopes (v3) the credential lacks, whether the integration user exists (creating it
when it does not and we can), and whether that user is a Site Admin yet. Harvest cannot
grant Site Admin (reference §3.3), so until a Greenhouse admin does, the status says so and
pushes wait.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alooba_common.db import utcnow
from alooba_common.errors import FailedPrecondition, InvalidArgument, NotFound, Unavailable
from alooba_common.secrets import SecretBox
from harvest_sync.app import harvest_contract as contract
from harvest_sync.app.checks import Check, Want, check_v1, check_v3
from harvest_sync.app.harvest_api import HarvestApi, Missing
from harvest_sync.app.push_kinds import PUSH_KIND, organization_prefix
from harvest_sync.config import HarvestSettings
from harvest_sync.domain.harvest_errors import (
    BudgetExhausted,
    CredentialRefused,
    HarvestError,
    HarvestUnavailable,
    PermissionMissing,
    RateLimited,
    SubjectRefused,
)
from harvest_sync.domain.harvest_ratelimit import Budget
from harvest_sync.store.credentials import V1, Credential
from harvest_sync.store.models import Connection, CustomFieldRecord
from harvest_sync.store.repository import QueueFigures, Repository

log = structlog.get_logger("harvest_sync.app.connections")

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SUCCESS_EVERY = dt.timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class StatusView:
    connection: Connection | None
    fields: Sequence[CustomFieldRecord]
    queue: QueueFigures
    actions_needed: Sequence[str]


def actions_needed(connection: Connection) -> list[str]:
    """What a person must still do before pushes can flow, in plain words."""
    v1 = connection.mode == V1
    actions = []
    missing = connection.missing_permissions
    if missing and v1:
        actions.append(
            "A Greenhouse admin must grant the Harvest credential these endpoint permissions "
            "(Configure → Dev Center → API Credential Management → Manage Permissions): "
            + ", ".join(missing)
        )
    elif missing:
        actions.append(_scopes_action(connection))
    if connection.integration_user_id is None:
        if not missing:
            actions.append(
                "The integration user could not be created: no active Site Admin was found "
                "to create it on behalf of; connect again naming one (--acting-user)"
                if v1
                else "The integration user could not be found or created: no Site Admin was "
                "found to act as (Greenhouse shows nothing to a user who is not a Site Admin, "
                "and the service account may not count as one); connect again naming a Site "
                "Admin's user id (--acting-user USER_ID)"
            )
    elif not connection.integration_user_site_admin:
        actions.append(
            f"A Greenhouse admin must make the integration user {connection.integration_user_email}"
            f" (user id {connection.integration_user_id}) a Site Admin; Harvest cannot grant it"
        )
    return actions


def _scopes_action(connection: Connection) -> str:
    scopes = ", ".join(connection.missing_permissions)
    grant = f"A Greenhouse admin must grant them ({contract.V3_WHERE_TO_GRANT})"
    if not connection.missing_ambiguous:
        return f"Missing scopes: {scopes}. {grant}"
    acting = connection.checked_as_user_id
    who = "the service account" if acting is None else f"user {acting}"
    return (
        f"Missing scopes {scopes}, or the acting user ({who}) is not a Site Admin: Greenhouse "
        f"answers both with 403. {grant}; if they are granted already, {who} must be made a "
        "Site Admin (or connect naming one with --acting-user USER_ID)"
    )


def is_ready(connection: Connection) -> bool:
    return not actions_needed(connection)


class HarvestClientSource(Protocol):
    """The Harvest client and rate budget of a credential: the port the rules call Greenhouse
    through (harvest_sync.outbound.clients.HarvestClients fills it; server.py wires it)."""

    def client(self, credential: Credential) -> HarvestApi: ...

    def budget(self, credential: Credential) -> Budget: ...


class Connections:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        box: SecretBox,
        clients: HarvestClientSource,
        settings: HarvestSettings,
    ) -> None:
        self._sessions = sessions
        self._box = box
        self._clients = clients
        self._settings = settings
        self._recheck_locks: dict[str, asyncio.Lock] = {}
        self._successes: dict[str, dt.datetime] = {}

    def credential(self, connection: Connection) -> Credential:
        return Credential.unseal(
            self._box,
            connection.organization_id,
            connection.mode,
            connection.encrypted_credential,
        )

    def api(self, connection: Connection) -> HarvestApi:
        return self._clients.client(self.credential(connection))

    def budget(self, connection: Connection) -> Budget:
        return self._clients.budget(self.credential(connection))

    async def get(self, organization_id: str) -> Connection | None:
        async with self._sessions.begin() as session:
            repository = Repository(session)
            connection = await repository.connection(organization_id)
            if connection is not None:
                repository.detach(connection)
            return connection

    async def connect(
        self,
        organization_id: str,
        credential: Credential,
        *,
        acting_user_id: int | None,
        integration_user_email: str,
    ) -> StatusView:
        organization_id = _organization_id(organization_id)
        email = (integration_user_email or self._settings.integration_user_email).strip()
        if not _EMAIL.match(email) or len(email) > 320:
            raise InvalidArgument("integration_user_email must be an e-mail address")
        if acting_user_id is not None and acting_user_id < 0:
            raise InvalidArgument("acting_user_id must be a Greenhouse user id")
        api = self._clients.client(credential)
        try:
            check = await self._inspect(api, Want(email, self._settings.brand, acting_user_id))
        except CredentialRefused as refused:
            # Nothing is stored: there is nothing a later retry could do with it.
            raise InvalidArgument(refused.message) from None
        except (RateLimited, HarvestUnavailable, BudgetExhausted) as trouble:
            raise _unavailable(trouble) from None
        now = utcnow()
        async with self._sessions.begin() as session:
            repository = Repository(session)
            connection = await repository.connection(organization_id, for_update=True)
            if connection is None:
                connection = Connection(organization_id=organization_id)
                repository.add_connection(connection)
            elif self.credential(connection).fingerprint() != credential.fingerprint():
                # Possibly another Greenhouse account: the field ids we knew may not exist
                # there. They are found again by name on the next push.
                await repository.forget_fields(organization_id)
            connection.mode = credential.mode
            connection.encrypted_credential = credential.seal(self._box, organization_id)
            connection.integration_user_email = email
            connection.acting_user_id = acting_user_id
            connection.connected_at = now
            connection.last_error = None
            connection.last_error_at = None
            connection.rate_limited_count = 0
            check.apply(connection, now)
        log.info(
            "harvest.connected",
            organization_id=organization_id,
            mode=credential.mode,
            missing_permissions=check.missing,
            integration_user_id=connection.integration_user_id,
        )
        return await self.status(organization_id)

    async def recheck(
        self,
        organization_id: str,
        *,
        unless_checked_within: dt.timedelta | None = None,
        unless_checked_since: dt.datetime | None = None,
    ) -> Connection:
        """Asks Greenhouse again (permissions, integration user, Site Admin) and stores it.

        One check at a time per organization: the pushes waiting on a connection all ask
        for one at once, and all but the first find it fresh: checked `unless_checked_within`
        ago, or after `unless_checked_since` (say, a refusal they met)."""
        async with self._recheck_locks.setdefault(organization_id, asyncio.Lock()):
            async with self._sessions.begin() as session:
                repository = Repository(session)
                connection = await repository.connection(organization_id)
                if connection is None:
                    raise NotFound("Harvest is not connected for this organization")
                repository.detach(connection)
            checked = connection.checked_at
            if (
                unless_checked_within is not None and utcnow() - checked < unless_checked_within
            ) or (unless_checked_since is not None and checked > unless_checked_since):
                return connection
            return await self._recheck(organization_id)

    async def _recheck(self, organization_id: str) -> Connection:
        async with self._sessions.begin() as session:
            connection = await Repository(session).connection(organization_id)
            if connection is None:
                raise NotFound("Harvest is not connected for this organization")
            api = self.api(connection)
            want = Want(
                connection.integration_user_email,
                self._settings.brand,
                connection.acting_user_id,
                connection.integration_user_id,
            )
        try:
            check = await self._inspect(api, want)
        except CredentialRefused as refused:
            check = Check(missing=Missing(api.needed), user=None, created=False)
            await self.record_error(organization_id, refused.message)
        async with self._sessions.begin() as session:
            repository = Repository(session)
            connection = await repository.connection(organization_id, for_update=True)
            if connection is None:
                raise NotFound("Harvest is not connected for this organization")
            check.apply(connection, utcnow())
            await repository.flush()
            repository.detach(connection)
        return connection

    async def status(self, organization_id: str, *, refresh: bool = False) -> StatusView:
        organization_id = _organization_id(organization_id)
        if refresh:
            try:
                await self.recheck(organization_id)
            except NotFound:
                pass  # not connected: the status below says so
            except HarvestError as trouble:
                raise _unavailable(trouble) from None
        async with self._sessions.begin() as session:
            repository = Repository(session)
            connection = await repository.connection(organization_id)
            fields = await repository.fields(organization_id)
            queue = await repository.queue_figures(PUSH_KIND, organization_prefix(organization_id))
            if connection is not None:
                repository.detach(connection)
        return StatusView(
            connection=connection,
            fields=fields,
            queue=queue,
            actions_needed=actions_needed(connection) if connection else [],
        )

    async def disconnect(self, organization_id: str) -> bool:
        organization_id = _organization_id(organization_id)
        async with self._sessions.begin() as session:
            repository = Repository(session)
            connection = await repository.connection(organization_id)
            if connection is None:
                return False
            await repository.delete_connection(connection)
            await repository.forget_fields(organization_id)
        log.info("harvest.disconnected", organization_id=organization_id)
        return True

    async def record_success(self, organization_id: str, rate_limit: int | None) -> None:
        """Notes a push written. Once a second at most per process: the status need not be
        more exact, and every replica's pushes would otherwise queue on this one row."""
        now = utcnow()
        last = self._successes.get(organization_id)
        if last is not None and now - last < _SUCCESS_EVERY:
            return
        self._successes[organization_id] = now
        async with self._sessions.begin() as session:
            connection = await Repository(session).connection(organization_id)
            if connection is not None:
                connection.last_success_at = utcnow()
                if rate_limit:
                    connection.rate_limit = rate_limit

    async def record_error(
        self, organization_id: str, error: str, *, rate_limited: bool = False
    ) -> None:
        async with self._sessions.begin() as session:
            connection = await Repository(session).connection(organization_id)
            if connection is not None:
                connection.last_error = error[:1000]
                connection.last_error_at = utcnow()
                if rate_limited:
                    connection.rate_limited_count += 1

    # --- talking to Greenhouse ------------------------------------------------------

    async def _inspect(self, api: HarvestApi, want: Want) -> Check:
        try:
            return await (check_v1(api, want) if api.mode == V1 else check_v3(api, want))
        except PermissionMissing as lacking:
            # A probe said yes but the call said no: report it rather than guess.
            missing = Missing((lacking.permission,), ambiguous=lacking.ambiguous)
            return Check(missing=missing, user=None, created=False)
        except (RateLimited, HarvestUnavailable, BudgetExhausted, CredentialRefused):
            raise
        except SubjectRefused as refused:
            raise FailedPrecondition(
                f"{refused.message}; connect naming an active Site Admin (--acting-user)"
            ) from None
        except HarvestError as error:
            raise FailedPrecondition(f"Greenhouse refused a setup step: {error.message}") from None


def _unavailable(trouble: HarvestError) -> Unavailable:
    """Greenhouse could not be asked just now: the caller may try again."""
    if isinstance(trouble, RateLimited | BudgetExhausted):
        return Unavailable(f"Greenhouse is rate limiting: try again in {trouble.retry_after:.0f} s")
    return Unavailable(f"Greenhouse could not be reached: {trouble.message}")


def _organization_id(value: str) -> str:
    value = value.strip()
    if not value or len(value) > 32 or not value.isalnum():
        raise InvalidArgument("organization_id is required")
    return value
