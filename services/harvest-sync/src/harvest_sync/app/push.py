"""Pushing a final result's scores into the application's custom fields.

`ScorePushes.queue` is what the assessments service calls (QueueScores): it puts the push in
the durable queue, once per result. `PushHandler` is the relay's handler for one queued
push: it waits while a person still has to act on the connection, finds or creates the
fields, and writes them on the application, never clearing others' (v1: a PATCH of our
fields only; v3: the others read and written back with ours, one write per application at
a time across replicas).

What Greenhouse answers decides what happens next:
- 2xx: done. Pushing the same result again writes the same values.
- 429: wait its Retry-After (the whole credential's budget pauses), attempt not spent.
- our own budget has no slot for long: put back for later, attempt not spent.
- 5xx, timeouts, refused connections: retried with backoff, then dead-lettered.
- a missing permission or refused credential (v3: a 403, "missing scope X, or the acting
  user is not a Site Admin"): the connection is checked again and the push waits for a
  person, attempt not spent. (v3: if the check then finds nothing missing, the 403 was
  about this application: retried, spending attempts, then dead-lettered.)
- any other 4xx (a deleted application, a validation error): a dead letter with
  Greenhouse's reason, replayable from the CLI.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alooba_common.db import utcnow
from alooba_common.errors import InvalidArgument
from alooba_common.outbox import OutboxMessage, PermanentFailure, RetryLater
from harvest_sync.app.connections import Connections, actions_needed, is_ready
from harvest_sync.app.fields import FieldCatalog, skill_field_name, total_field_name
from harvest_sync.app.harvest_api import FieldValue, HarvestApi
from harvest_sync.app.push_kinds import PUSH_KIND, dedupe_key
from harvest_sync.domain.harvest_errors import (
    BudgetExhausted,
    CredentialRefused,
    HarvestError,
    HarvestUnavailable,
    PermissionMissing,
    RateLimited,
    Rejected,
    SubjectRefused,
)
from harvest_sync.metrics import PUSHES, RATE_LIMITED
from harvest_sync.store.credentials import V1
from harvest_sync.store.locks import LeaseLocks, LockBusy
from harvest_sync.store.models import Connection
from harvest_sync.store.repository import Repository

log = structlog.get_logger("harvest_sync.app.push")

_MAX_SKILLS = 50
_JUST_CHECKED = dt.timedelta(seconds=5)


@dataclass(frozen=True, slots=True)
class Scores:
    total: float
    # (skill name, score), in the result's order.
    skills: tuple[tuple[str, float], ...]

    def values(self, brand: str) -> list[tuple[str, float | int]]:
        named = [(total_field_name(brand), self.total)]
        named += [(skill_field_name(brand, skill), score) for skill, score in self.skills]
        # A whole number is written as one (81, not 81.0), as a person would type it.
        return [(name, int(v) if float(v).is_integer() else round(v, 2)) for name, v in named]


def _score(value: float, what: str) -> float:
    if not math.isfinite(value) or not 0 <= value <= 100:
        raise InvalidArgument(f"{what} must be a number from 0 to 100")
    return float(value)


class ScorePushes:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        outbox_committed: Callable[[], None],
    ) -> None:
        self._sessions = sessions
        self._outbox_committed = outbox_committed

    async def queue(
        self,
        organization_id: str,
        application_id: int,
        result_id: str,
        total: float,
        skills: Sequence[tuple[str, float]],
    ) -> bool:
        """Queues the push; False (and nothing queued) when Harvest is not connected."""
        organization_id, result_id = organization_id.strip(), result_id.strip()
        if not organization_id or len(organization_id) > 32:
            raise InvalidArgument("organization_id is required")
        if not result_id or len(result_id) > 100:
            raise InvalidArgument("result_id is required (at most 100 characters)")
        if application_id <= 0:
            raise InvalidArgument("application_id must be a Greenhouse application id")
        if len(skills) > _MAX_SKILLS:
            raise InvalidArgument(f"at most {_MAX_SKILLS} skill scores")
        scores = Scores(
            total=_score(total, "total_score"),
            skills=tuple(
                (_skill_name(skill), _score(score, f"the score of {skill!r}"))
                for skill, score in skills
            ),
        )
        async with self._sessions.begin() as session:
            if await Repository(session).connection(organization_id) is None:
                return False
            await Repository(session).enqueue(
                PUSH_KIND,
                {
                    "organization_id": organization_id,
                    "application_id": application_id,
                    "result_id": result_id,
                    "total_score": scores.total,
                    "skill_scores": [{"skill": s, "score": v} for s, v in scores.skills],
                },
                dedupe_key=dedupe_key(organization_id, result_id),
            )
        self._outbox_committed()
        return True


def _skill_name(skill: str) -> str:
    skill = " ".join(skill.split())
    if not skill or len(skill) > 150 or not skill.isprintable():
        raise InvalidArgument("a skill name is required (printable, at most 150 characters)")
    return skill


def _scores_from(payload: Mapping[str, Any]) -> Scores:
    return Scores(
        total=float(payload["total_score"]),
        skills=tuple((str(s["skill"]), float(s["score"])) for s in payload["skill_scores"]),
    )


class PushHandler:
    def __init__(
        self,
        connections: Connections,
        fields: FieldCatalog,
        locks: LeaseLocks,
        *,
        brand: str,
        recheck_seconds: float,
        write_lease_seconds: float,
    ) -> None:
        self._connections = connections
        self._fields = fields
        self._locks = locks
        self._brand = brand
        self._recheck = dt.timedelta(seconds=recheck_seconds)
        self._write_lease = write_lease_seconds

    async def __call__(self, message: OutboxMessage) -> None:
        payload = message.payload
        organization_id = str(payload["organization_id"])
        application_id = int(payload["application_id"])
        connection = await self._ready_connection(organization_id)
        assert connection.integration_user_id is not None  # is_ready() checked it
        acting = connection.integration_user_id
        api = self._connections.api(connection)
        named = _scores_from(payload).values(self._brand)
        try:
            await self._write_once(organization_id, application_id, named, api, acting)
        except RateLimited as limited:
            RATE_LIMITED.inc()
            PUSHES.labels("rate_limited").inc()
            await self._connections.record_error(
                organization_id, limited.message, rate_limited=True
            )
            raise RetryLater(
                limited.message, after=limited.retry_after, spend_attempt=False
            ) from None
        except BudgetExhausted as exhausted:
            PUSHES.labels("throttled").inc()
            raise RetryLater(
                exhausted.message, after=exhausted.retry_after, spend_attempt=False
            ) from None
        except LockBusy:
            raise RetryLater(
                f"another push is writing application {application_id}",
                after=1.0,
                spend_attempt=False,
            ) from None
        except HarvestUnavailable as unavailable:
            PUSHES.labels("retry").inc()
            await self._connections.record_error(organization_id, unavailable.message)
            raise RetryLater(unavailable.message) from None
        except (PermissionMissing, CredentialRefused, SubjectRefused) as refused:
            await self._refused(organization_id, connection, refused)
        except Rejected as rejected:
            PUSHES.labels("rejected").inc()
            await self._connections.record_error(organization_id, rejected.message)
            raise PermanentFailure(rejected.message) from None
        PUSHES.labels("written").inc()
        await self._connections.record_success(
            organization_id, self._connections.budget(connection).limit
        )
        log.info("harvest.pushed", application_id=application_id, fields=len(named))

    async def _write_once(
        self,
        organization_id: str,
        application_id: int,
        named: Sequence[tuple[str, float | int]],
        api: HarvestApi,
        acting: int,
    ) -> None:
        try:
            await self._write(organization_id, application_id, named, api, acting)
        except Rejected as rejected:
            if rejected.status != 422:
                raise
            # A cached field may have been deleted in Greenhouse: find them again, once.
            await self._fields.forget(organization_id)
            await self._write(organization_id, application_id, named, api, acting)

    async def _write(
        self,
        organization_id: str,
        application_id: int,
        named: Sequence[tuple[str, float | int]],
        api: HarvestApi,
        acting: int,
    ) -> None:
        fields = await self._fields.ids(
            organization_id, [name for name, _ in named], api, acting_user_id=acting
        )
        values = [
            FieldValue(
                field_id=fields[name].id, value=value, name_key=fields[name].name_key, name=name
            )
            for name, value in named
        ]
        if api.mode == V1:
            await api.update_application(application_id, values, acting_user_id=acting)
            return
        # v3 reads the application's custom fields and writes them back with ours: two
        # pushes for one application at once could each write back what the other is
        # replacing, so they take turns, whichever replica runs them.
        async with self._locks.held(
            f"application:{organization_id}:{application_id}",
            lease_seconds=self._write_lease,
            wait_seconds=self._write_lease / 4,
        ):
            await api.update_application(application_id, values, acting_user_id=acting)

    async def _refused(
        self, organization_id: str, connection: Connection, refused: HarvestError
    ) -> None:
        """Greenhouse refused the credential or a permission: the push waits for a person
        (the connection is checked again, so that the status says what to do)."""
        refused_at = utcnow()
        PUSHES.labels("waiting").inc()
        await self._connections.record_error(organization_id, refused.message)
        checked = None
        with contextlib.suppress(RateLimited, HarvestUnavailable, BudgetExhausted):
            # Concurrent pushes that met the same refusal need only one new check between
            # them (v1: one in the last few seconds; v3: one made after the refusal).
            checked = await self._connections.recheck(
                organization_id,
                unless_checked_within=_JUST_CHECKED if connection.mode == V1 else None,
                unless_checked_since=None if connection.mode == V1 else refused_at,
            )
        if connection.mode != V1 and checked is not None and is_ready(checked):
            # Every scope is granted and the integration user is a Site Admin, yet this one
            # was refused (say, an application of a confidential job, E10): retried with
            # backoff like a failure, then a dead letter.
            raise RetryLater(
                f"{refused.message}; yet the check finds every scope granted and the "
                "integration user a Site Admin"
            ) from None
        raise RetryLater(
            refused.message, after=self._recheck.total_seconds(), spend_attempt=False
        ) from None

    async def _ready_connection(self, organization_id: str) -> Connection:
        connection = await self._connections.get(organization_id)
        if connection is None:
            PUSHES.labels("not_connected").inc()
            raise PermanentFailure("Harvest is not connected for this organization")
        if is_ready(connection):
            return connection
        if utcnow() - connection.checked_at >= self._recheck:
            try:
                connection = await self._connections.recheck(
                    organization_id, unless_checked_within=self._recheck
                )
            except (RateLimited, HarvestUnavailable, BudgetExhausted) as error:
                raise RetryLater(error.message, spend_attempt=False) from None
            if is_ready(connection):
                return connection
        PUSHES.labels("waiting").inc()
        raise RetryLater(
            "waiting for the Harvest connection: " + "; ".join(actions_needed(connection)),
            after=self._recheck.total_seconds(),
            spend_attempt=False,
        )
