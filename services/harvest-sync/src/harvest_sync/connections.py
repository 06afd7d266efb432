"""An organization's Harvest connection: connecting, checking, status and disconnecting.

Checking a connection asks Greenhouse three things: which needed permissions the credential
lacks, whether the integration user exists (creating it when it does not and we can), and
whether that user is a Site Admin yet. Harvest cannot grant Site Admin (reference §3.3), so
until a Greenhouse admin does, the status says so and pushes wait.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

import structlog
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alooba_common.db import utcnow
from alooba_common.errors import FailedPrecondition, InvalidArgument, NotFound, Unavailable
from alooba_common.outbox import DEAD, PENDING
from alooba_common.secrets import SecretBox
from harvest_sync.clients import HarvestClients
from harvest_sync.config import HarvestSettings
from harvest_sync.credentials import Credential
from harvest_sync.harvest import unconfirmed
from harvest_sync.harvest.api import HarvestApi, HarvestUser
from harvest_sync.harvest.errors import (
    CredentialRefused,
    HarvestError,
    HarvestUnavailable,
    PermissionMissing,
    RateLimited,
)
from harvest_sync.harvest.ratelimit import RateBudget
from harvest_sync.models import OUTBOX, Connection, CustomFieldRecord
from harvest_sync.push_kinds import PUSH_KIND, organization_prefix

log = structlog.get_logger("harvest_sync.connections")

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True, slots=True)
class QueueFigures:
    depth: int
    oldest_pending: dt.datetime | None
    dead_letters: int


@dataclass(frozen=True, slots=True)
class StatusView:
    connection: Connection | None
    fields: Sequence[CustomFieldRecord]
    queue: QueueFigures
    actions_needed: Sequence[str]


def actions_needed(connection: Connection) -> list[str]:
    """What a person must still do before pushes can flow, in plain words."""
    actions = []
    if connection.missing_permissions:
        actions.append(
            "A Greenhouse admin must grant the Harvest credential these endpoint permissions "
            "(Configure → Dev Center → API Credential Management → Manage Permissions): "
            + ", ".join(connection.missing_permissions)
        )
    if connection.integration_user_id is None:
        if not connection.missing_permissions:
            actions.append(
                "The integration user could not be created: no active Site Admin was found "
                "to create it on behalf of; connect again naming one (--acting-user)"
            )
    elif not connection.integration_user_site_admin:
        actions.append(
            f"A Greenhouse admin must make the integration user {connection.integration_user_email}"
            f" (user id {connection.integration_user_id}) a Site Admin; Harvest cannot grant it"
        )
    return actions


def is_ready(connection: Connection) -> bool:
    return not actions_needed(connection)


class Connections:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        box: SecretBox,
        clients: HarvestClients,
        settings: HarvestSettings,
    ) -> None:
        self._sessions = sessions
        self._box = box
        self._clients = clients
        self._settings = settings
        self._recheck_locks: dict[str, asyncio.Lock] = {}

    def credential(self, connection: Connection) -> Credential:
        return Credential.unseal(
            self._box,
            connection.organization_id,
            connection.mode,
            connection.encrypted_credential,
        )

    def api(self, connection: Connection) -> HarvestApi:
        return self._clients.client(self.credential(connection))

    def budget(self, connection: Connection) -> RateBudget:
        return self._clients.budget(self.credential(connection))

    async def get(self, organization_id: str) -> Connection | None:
        async with self._sessions.begin() as session:
            connection = await session.get(Connection, organization_id)
            if connection is not None:
                session.expunge(connection)
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
            check = await self._inspect(api, acting_user_id, email)
        except CredentialRefused as refused:
            # Nothing is stored: there is nothing a later retry could do with it.
            raise InvalidArgument(refused.message) from None
        except (RateLimited, HarvestUnavailable) as trouble:
            raise _unavailable(trouble) from None
        now = utcnow()
        async with self._sessions.begin() as session:
            connection = await session.get(Connection, organization_id, with_for_update=True)
            if connection is None:
                connection = Connection(organization_id=organization_id)
                session.add(connection)
            elif self.credential(connection).fingerprint() != credential.fingerprint():
                # Possibly another Greenhouse account: the field ids we knew may not exist
                # there. They are found again by name on the next push.
                await session.execute(
                    delete(CustomFieldRecord).where(
                        CustomFieldRecord.organization_id == organization_id
                    )
                )
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
        self, organization_id: str, *, unless_checked_within: dt.timedelta | None = None
    ) -> Connection:
        """Asks Greenhouse again (permissions, integration user, Site Admin) and stores it.

        One check at a time per organization: the pushes waiting on a connection all ask
        for one at once, and all but the first find it `unless_checked_within` fresh."""
        async with self._recheck_locks.setdefault(organization_id, asyncio.Lock()):
            return await self._recheck(organization_id, unless_checked_within)

    async def _recheck(
        self, organization_id: str, unless_checked_within: dt.timedelta | None
    ) -> Connection:
        async with self._sessions.begin() as session:
            connection = await session.get(Connection, organization_id)
            if connection is None:
                raise NotFound("Harvest is not connected for this organization")
            if (
                unless_checked_within is not None
                and utcnow() - connection.checked_at < unless_checked_within
            ):
                session.expunge(connection)
                return connection
            api = self.api(connection)
            acting, email = connection.acting_user_id, connection.integration_user_email
        try:
            check = await self._inspect(api, acting, email)
        except CredentialRefused as refused:
            check = _Check(missing=list(unconfirmed.NEEDED_PERMISSIONS), user=None, created=False)
            await self.record_error(organization_id, refused.message)
        async with self._sessions.begin() as session:
            connection = await session.get(Connection, organization_id, with_for_update=True)
            if connection is None:
                raise NotFound("Harvest is not connected for this organization")
            check.apply(connection, utcnow())
            await session.flush()
            session.expunge(connection)
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
            connection = await session.get(Connection, organization_id)
            fields = (
                await session.scalars(
                    select(CustomFieldRecord)
                    .where(CustomFieldRecord.organization_id == organization_id)
                    .order_by(CustomFieldRecord.id)
                )
            ).all()
            queue = await _queue_figures(session, organization_id)
            if connection is not None:
                session.expunge(connection)
        return StatusView(
            connection=connection,
            fields=fields,
            queue=queue,
            actions_needed=actions_needed(connection) if connection else [],
        )

    async def disconnect(self, organization_id: str) -> bool:
        organization_id = _organization_id(organization_id)
        async with self._sessions.begin() as session:
            connection = await session.get(Connection, organization_id)
            if connection is None:
                return False
            await session.delete(connection)
            await session.execute(
                delete(CustomFieldRecord).where(
                    CustomFieldRecord.organization_id == organization_id
                )
            )
        log.info("harvest.disconnected", organization_id=organization_id)
        return True

    async def record_success(self, organization_id: str, rate_limit: int | None) -> None:
        async with self._sessions.begin() as session:
            connection = await session.get(Connection, organization_id)
            if connection is not None:
                connection.last_success_at = utcnow()
                if rate_limit:
                    connection.rate_limit = rate_limit

    async def record_error(
        self, organization_id: str, error: str, *, rate_limited: bool = False
    ) -> None:
        async with self._sessions.begin() as session:
            connection = await session.get(Connection, organization_id)
            if connection is not None:
                connection.last_error = error[:1000]
                connection.last_error_at = utcnow()
                if rate_limited:
                    connection.rate_limited_count += 1

    # --- talking to Greenhouse ------------------------------------------------------

    async def _inspect(self, api: HarvestApi, acting_user_id: int | None, email: str) -> _Check:
        try:
            missing = await api.missing_permissions(acting_user_id)
            user: HarvestUser | None = None
            created = False
            if unconfirmed.LIST_USERS not in missing:
                user = await api.user_by_email(email)
                if user is None and unconfirmed.ADD_USER not in missing:
                    acting = acting_user_id or await _first_site_admin(api)
                    if acting is not None:
                        user = await api.create_user(
                            first_name=self._settings.brand,
                            last_name="Integration",
                            email=email,
                            acting_user_id=acting,
                        )
                        created = True
                        log.info("harvest.integration_user_created", user_id=user.id)
        except PermissionMissing as lacking:
            # A probe said yes but the call said no: report it rather than guess.
            missing = [lacking.permission]
            user, created = None, False
        except (RateLimited, HarvestUnavailable):
            raise
        except CredentialRefused:
            raise
        except HarvestError as error:
            raise FailedPrecondition(f"Greenhouse refused a setup step: {error.message}") from None
        return _Check(missing=missing, user=user, created=created)


@dataclass(slots=True)
class _Check:
    missing: list[str]
    user: HarvestUser | None
    created: bool

    def apply(self, connection: Connection, now: dt.datetime) -> None:
        connection.missing_permissions = list(self.missing)
        connection.checked_at = now
        if self.user is not None:
            if connection.integration_user_id != self.user.id:
                connection.integration_user_created = self.created
            connection.integration_user_id = self.user.id
            connection.integration_user_site_admin = self.user.site_admin and not self.user.disabled
        elif connection.integration_user_id is None:
            connection.integration_user_site_admin = False


async def _first_site_admin(api: HarvestApi) -> int | None:
    for user in await api.users():
        if user.site_admin and not user.disabled:
            return user.id
    return None


async def _queue_figures(session: AsyncSession, organization_id: str) -> QueueFigures:
    mine = (OUTBOX.c.kind == PUSH_KIND) & OUTBOX.c.dedupe_key.startswith(
        organization_prefix(organization_id), autoescape=True
    )
    pending = (
        await session.execute(
            select(func.count(), func.min(OUTBOX.c.created_at)).where(
                mine, OUTBOX.c.status == PENDING
            )
        )
    ).one()
    dead = await session.scalar(select(func.count()).where(mine, OUTBOX.c.status == DEAD))
    return QueueFigures(depth=pending[0], oldest_pending=pending[1], dead_letters=dead or 0)


def _unavailable(trouble: HarvestError) -> Unavailable:
    """Greenhouse could not be asked just now: the caller may try again."""
    if isinstance(trouble, RateLimited):
        return Unavailable(f"Greenhouse is rate limiting: try again in {trouble.retry_after:g} s")
    return Unavailable(f"Greenhouse could not be reached: {trouble.message}")


def _organization_id(value: str) -> str:
    value = value.strip()
    if not value or len(value) > 32 or not value.isalnum():
        raise InvalidArgument("organization_id is required")
    return value
