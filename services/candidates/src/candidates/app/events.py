"""The rules for Greenhouse's webhook events: status changes, erasure and merges.

Each event is recorded once per (organization, Greenhouse-Event-ID) in `webhook_event`,
in the same transaction as the change it makes, so "recorded" and "applied" commit
together and a redelivery is a DUPLICATE that changes nothing. The unique constraint on
that pair settles two deliveries of one event arriving at the same moment.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alooba_common.db import utcnow
from alooba_common.errors import InvalidArgument, Unavailable
from candidates.app import cancellation_requests
from candidates.app.service import check_organization_id
from candidates.metrics import ERASURES, MERGES, STATUS_EVENTS
from candidates.store import status_path
from candidates.store.models import (
    Application,
    Candidate,
    ErasureReceipt,
    HiringStatus,
    Outcome,
    WebhookEvent,
)
from candidates.store.repository import Repository
from candidates.store.status_path import ApplicationState

log = structlog.get_logger("candidates.app.events")

ACTIVE, REJECTED, HIRED = HiringStatus.ACTIVE, HiringStatus.REJECTED, HiringStatus.HIRED

# What Greenhouse's full_name anonymization writes as the first name.
ANONYMIZED_FIRST_NAME = "Anonymized"

# The kinds of PII an erasure removes: all of them, whatever Greenhouse's
# anonymized_fields lists.
ERASED_KINDS = (
    "name",
    "email",
    "phone_number",
    "resume_url",
    "profile_url",
    "sent_by",
    "assessment_data",
)

ERASURE_REASONS = frozenset({"candidate_anonymized", "delete_candidate"})

_MAX_EVENT_ID = 200
_MAX_REQUESTED_FIELDS = 100
_MAX_FIELD_NAME = 100
_MAX_MERGED = 100
_DEFAULT_RECEIPTS = 100
_MAX_RECEIPTS = 1000
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class StatusAction(enum.StrEnum):
    REJECT = "reject"
    UNREJECT = "unreject"
    HIRE = "hire"
    UNHIRE = "unhire"

    @property
    def greenhouse_action(self) -> str:
        return f"{self.value}_candidate"

    @property
    def status(self) -> HiringStatus:
        """The application status this action leads to."""
        return {
            StatusAction.REJECT: REJECTED,
            StatusAction.UNREJECT: ACTIVE,
            StatusAction.HIRE: HIRED,
            StatusAction.UNHIRE: ACTIVE,
        }[self]


@dataclass(frozen=True, slots=True)
class StatusEvent:
    organization_id: str
    event_id: str
    action: StatusAction
    greenhouse_candidate_id: int
    greenhouse_application_id: int | None
    # When it happened in Greenhouse; None when the payload did not say.
    occurred_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class StatusEventResult:
    outcome: Outcome
    candidate_id: str | None = None
    # The application's status after the event (None when there is no application).
    status: HiringStatus | None = None


@dataclass(frozen=True, slots=True)
class Erasure:
    organization_id: str
    event_id: str
    greenhouse_candidate_id: int
    reason: str
    requested_fields: Sequence[str]


@dataclass(frozen=True, slots=True)
class ErasureResult:
    outcome: Outcome
    candidate_id: str | None = None
    receipt: ErasureReceipt | None = None


@dataclass(frozen=True, slots=True)
class Merge:
    organization_id: str
    event_id: str
    surviving_greenhouse_candidate_id: int
    merged_greenhouse_candidate_ids: Sequence[int]


@dataclass(frozen=True, slots=True)
class MergeResult:
    outcome: Outcome
    candidate_id: str | None = None
    merged: int = 0


_Result = TypeVar("_Result")


def _check_event(organization_id: str, event_id: str, greenhouse_candidate_id: int) -> None:
    check_organization_id(organization_id)
    if not event_id or len(event_id) > _MAX_EVENT_ID:
        raise InvalidArgument(f"event_id is required (at most {_MAX_EVENT_ID} characters)")
    if greenhouse_candidate_id <= 0:
        raise InvalidArgument("greenhouse_candidate_id must be positive")


def erase_pii(candidate: Candidate, applications: Sequence[Application], now: dt.datetime) -> None:
    """Blanks every PII column of the candidate and of these applications. As Greenhouse
    does for full_name: first name "Anonymized", last name the Greenhouse candidate id."""
    candidate.first_name = ANONYMIZED_FIRST_NAME
    candidate.last_name = str(candidate.greenhouse_candidate_id or "")
    candidate.preferred_name = None
    candidate.email = None
    candidate.phone_number = None
    candidate.updated_at = now
    for application in applications:
        _erase_application(application, now)


def _erase_application(application: Application, now: dt.datetime) -> None:
    application.resume_url = None
    application.profile_url = None
    application.sent_by = None
    application.updated_at = now


def display_status(
    applications: Sequence[Application | ApplicationState],
    preferred: Sequence[Application | ApplicationState] = (),
) -> HiringStatus | None:
    """The status of the most recently changed application (on a tie, one of
    `preferred`, the ones just changed); None when there are no applications."""
    chosen = {application.id for application in preferred}
    latest = max(
        applications,
        key=lambda a: (a.status_changed_at or _EPOCH, a.id in chosen),
        default=None,
    )
    return latest.status if latest is not None else None


async def _nothing() -> None:
    return None


class WebhookEvents:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        after_erasure: Callable[[], Awaitable[None]] = _nothing,
        outbox_committed: Callable[[], None] = lambda: None,
    ) -> None:
        self._sessions = sessions
        # Wakes the outbox relay once an erasure (and its message to assessments) committed.
        self._outbox_committed = outbox_committed
        # Run once an erasure has committed (and again on its redelivery, in case we died
        # before): the SQLite write-ahead log checkpoint that leaves no old page behind.
        self._after_erasure = after_erasure

    async def _once(
        self,
        organization_id: str,
        event_id: str,
        handle: Callable[[Repository], Awaitable[_Result]],
        duplicate: Callable[[Repository, WebhookEvent], Awaitable[_Result]],
    ) -> _Result:
        """Runs `handle` in one transaction unless this event id was recorded before,
        in which case `duplicate` answers from what was recorded.

        Most events are new, so the event's row is not looked up first: `handle` inserts
        it, and the unique (organization, event id) constraint refuses a redelivery,
        whose transaction then rolls back with everything it did."""
        try:
            async with self._sessions.begin() as session:
                return await handle(Repository(session))
        except IntegrityError as error:
            # This event was recorded before, or another delivery of it committed first.
            async with self._sessions.begin() as session:
                repo = Repository(session)
                seen = await repo.webhook_event(organization_id, event_id)
                if seen is None:
                    # Some other change to the same rows won a race; Greenhouse retries.
                    raise Unavailable("a concurrent change got in the way; retry") from error
                return await duplicate(repo, seen)

    @staticmethod
    async def _claim(repo: Repository, event: WebhookEvent) -> WebhookEvent:
        """Inserts the event's row before anything else is done: a second delivery of
        the same event fails here (or waits here, on PostgreSQL, until the first one
        commits and then fails)."""
        repo.add(event)
        await repo.flush()
        return event

    # --- status --------------------------------------------------------------

    async def apply_status_event(self, command: StatusEvent) -> StatusEventResult:
        """Sets the status of the candidate's application (or of all of them when the
        event names none) unless the event is a duplicate or older than that status."""
        _check_event(command.organization_id, command.event_id, command.greenhouse_candidate_id)
        if command.greenhouse_application_id is not None and command.greenhouse_application_id <= 0:
            raise InvalidArgument("greenhouse_application_id must be positive")
        if command.occurred_at is not None and command.occurred_at.tzinfo is None:
            raise InvalidArgument("occur_time must be a UTC time")
        received = utcnow()

        async def handle(repo: Repository) -> StatusEventResult:
            # The change first, then the event's row with its outcome, flushed together
            # at commit (one INSERT, not an INSERT and an UPDATE). Two deliveries of one
            # event still apply it once: they queue on the candidate's row lock, and the
            # second one's INSERT breaks the unique constraint, undoing its change.
            result = await self._apply_status(repo, command, received)
            await status_path.insert_event(
                repo.session,
                {
                    "id": uuid.uuid4().hex,
                    "organization_id": command.organization_id,
                    "event_id": command.event_id,
                    "action": command.action.greenhouse_action,
                    "greenhouse_candidate_id": command.greenhouse_candidate_id,
                    "greenhouse_application_id": command.greenhouse_application_id,
                    "occurred_at": command.occurred_at,
                    "received_at": received,
                    "outcome": result.outcome,
                    "candidate_id": result.candidate_id,
                    "status": result.status,
                    "detail": {},
                },
            )
            return result

        async def duplicate(repo: Repository, seen: WebhookEvent) -> StatusEventResult:
            return StatusEventResult(Outcome.DUPLICATE, seen.candidate_id, seen.status)

        result = await self._once(command.organization_id, command.event_id, handle, duplicate)
        STATUS_EVENTS.labels(command.action.value, result.outcome.value).inc()
        log.info(
            "status_event.handled",
            organization_id=command.organization_id,
            event_id=command.event_id,
            action=command.action.value,
            outcome=result.outcome.value,
            candidate_id=result.candidate_id,
            status=result.status,
        )
        return result

    async def _apply_status(
        self, repo: Repository, command: StatusEvent, received: dt.datetime
    ) -> StatusEventResult:
        """Core statements (candidates.store.status_path); a merged candidate's event goes the
        ORM way, which follows the merge."""
        state = await status_path.candidate_state(
            repo.session, command.organization_id, command.greenhouse_candidate_id
        )
        if state is None:
            return StatusEventResult(Outcome.UNKNOWN_CANDIDATE)
        if state.merged_into_id is not None:
            return await self._apply_status_merged(repo, command, received)
        applications = state.applications
        targets = [
            a
            for a in applications
            if command.greenhouse_application_id is None
            or a.greenhouse_application_id == command.greenhouse_application_id
        ]
        if not targets:
            return StatusEventResult(Outcome.UNKNOWN_CANDIDATE, state.id)
        occurred = min(command.occurred_at or received, received)
        changed = [
            a for a in targets if a.status_changed_at is None or occurred >= a.status_changed_at
        ]
        if not changed:
            latest = max(targets, key=lambda a: a.status_changed_at or _EPOCH)
            return StatusEventResult(Outcome.STALE, state.id, latest.status)
        status = command.action.status
        for application in changed:
            application.status = status
            application.status_changed_at = occurred
        await status_path.set_status(
            repo.session,
            candidate_id=state.id,
            application_ids=[a.id for a in changed],
            status=status,
            hiring_status=display_status(applications, changed) or status,
            occurred=occurred,
            received=received,
        )
        return StatusEventResult(Outcome.APPLIED, state.id, status)

    async def _apply_status_merged(
        self, repo: Repository, command: StatusEvent, received: dt.datetime
    ) -> StatusEventResult:
        candidate = await repo.resolve(
            await repo.candidate_by_greenhouse_id(
                command.organization_id, command.greenhouse_candidate_id, for_update=True
            ),
            for_update=True,
        )
        if candidate is None:
            return StatusEventResult(Outcome.UNKNOWN_CANDIDATE)
        applications = await repo.applications(candidate.id)
        targets = [
            a
            for a in applications
            if command.greenhouse_application_id is None
            or a.greenhouse_application_id == command.greenhouse_application_id
        ]
        if not targets:
            return StatusEventResult(Outcome.UNKNOWN_CANDIDATE, candidate.id)
        # An event cannot have happened after it reached us: a time in the future (a
        # skewed clock) would otherwise make every later event look stale.
        occurred = min(command.occurred_at or received, received)
        changed = [
            a for a in targets if a.status_changed_at is None or occurred >= a.status_changed_at
        ]
        if not changed:
            latest = max(targets, key=lambda a: a.status_changed_at or _EPOCH)
            return StatusEventResult(Outcome.STALE, candidate.id, latest.status)
        status = command.action.status
        for application in changed:
            application.status = status
            application.status_changed_at = occurred
            application.updated_at = received
        candidate.hiring_status = display_status(applications, changed) or status
        candidate.updated_at = received
        return StatusEventResult(Outcome.APPLIED, candidate.id, status)

    # --- erasure -------------------------------------------------------------

    async def erase_candidate(self, command: Erasure) -> ErasureResult:
        """Erases every piece of the candidate's PII, whatever fields Greenhouse listed,
        and writes a receipt without PII, in one transaction."""
        _check_event(command.organization_id, command.event_id, command.greenhouse_candidate_id)
        if command.reason not in ERASURE_REASONS:
            raise InvalidArgument("reason must be one of " + ", ".join(sorted(ERASURE_REASONS)))
        if len(command.requested_fields) > _MAX_REQUESTED_FIELDS or any(
            len(field) > _MAX_FIELD_NAME for field in command.requested_fields
        ):
            raise InvalidArgument(
                f"at most {_MAX_REQUESTED_FIELDS} requested_fields"
                f" of at most {_MAX_FIELD_NAME} characters"
            )
        now = utcnow()

        async def handle(repo: Repository) -> ErasureResult:
            event = await self._claim(
                repo,
                WebhookEvent(
                    id=uuid.uuid4().hex,
                    organization_id=command.organization_id,
                    event_id=command.event_id,
                    action=command.reason,
                    greenhouse_candidate_id=command.greenhouse_candidate_id,
                    greenhouse_application_id=None,
                    occurred_at=None,
                    received_at=now,
                    outcome=Outcome.UNKNOWN_CANDIDATE,
                    detail={},
                ),
            )
            candidate = await repo.resolve(
                await repo.candidate_by_greenhouse_id(
                    command.organization_id, command.greenhouse_candidate_id, for_update=True
                ),
                for_update=True,
            )
            if candidate is None:
                return ErasureResult(Outcome.UNKNOWN_CANDIDATE)
            applications = await repo.applications(candidate.id)
            data_items = await repo.delete_assessment_data(candidate.id)
            erase_pii(candidate, applications, now)
            candidate.erased_at = now
            receipt = ErasureReceipt(
                id=uuid.uuid4().hex,
                organization_id=command.organization_id,
                candidate_id=candidate.id,
                event_id=command.event_id,
                reason=command.reason,
                requested_fields=list(command.requested_fields),
                erased=list(ERASED_KINDS),
                applications=len(applications),
                assessment_data_items=data_items,
                erased_at=now,
            )
            repo.add(receipt)
            # Assessments cancels the candidate's invitations: asked in this transaction,
            # so the request exists exactly when the erasure does (ARCHITECTURE §5).
            await repo.enqueue(
                cancellation_requests.KIND,
                cancellation_requests.payload(
                    command.organization_id, candidate.id, command.reason
                ),
                # One message per erasure (a redelivered event erases nothing again).
                dedupe_key=receipt.id,
            )
            event.outcome = Outcome.APPLIED
            event.candidate_id = candidate.id
            return ErasureResult(Outcome.APPLIED, candidate.id, receipt)

        async def duplicate(repo: Repository, seen: WebhookEvent) -> ErasureResult:
            receipt = await repo.erasure_receipt_by_event(command.organization_id, seen.event_id)
            return ErasureResult(Outcome.DUPLICATE, seen.candidate_id, receipt)

        result = await self._once(command.organization_id, command.event_id, handle, duplicate)
        if result.outcome is Outcome.APPLIED:
            self._outbox_committed()
        if result.candidate_id is not None:
            await self._after_erasure()
        ERASURES.labels(command.reason, result.outcome.value).inc()
        log.info(
            "candidate.erasure_handled",
            organization_id=command.organization_id,
            event_id=command.event_id,
            reason=command.reason,
            outcome=result.outcome.value,
            candidate_id=result.candidate_id,
            receipt_id=result.receipt.id if result.receipt else None,
        )
        return result

    async def erasure_receipts(self, organization_id: str, limit: int) -> Sequence[ErasureReceipt]:
        """The organization's erasure receipts, newest first (limit 0 means 100)."""
        check_organization_id(organization_id)
        if limit < 0:
            raise InvalidArgument("limit must not be negative")
        limit = min(limit or _DEFAULT_RECEIPTS, _MAX_RECEIPTS)
        async with self._sessions.begin() as session:
            return await Repository(session).erasure_receipts(organization_id, limit)

    # --- merges --------------------------------------------------------------

    async def merge_candidates(self, command: Merge) -> MergeResult:
        """Re-keys merged Greenhouse candidates to the surviving id: a lone merged record
        takes the surviving id; when both exist, the merged record's applications and
        assessment data move to the surviving one and the merged record keeps no PII but
        points at it."""
        surviving = command.surviving_greenhouse_candidate_id
        _check_event(command.organization_id, command.event_id, surviving)
        if len(command.merged_greenhouse_candidate_ids) > _MAX_MERGED or any(
            gh_id <= 0 for gh_id in command.merged_greenhouse_candidate_ids
        ):
            raise InvalidArgument(
                f"merged_greenhouse_candidate_ids: at most {_MAX_MERGED} positive ids"
            )
        merged_ids = list(dict.fromkeys(command.merged_greenhouse_candidate_ids))
        merged_ids = [gh_id for gh_id in merged_ids if gh_id != surviving]
        now = utcnow()

        async def handle(repo: Repository) -> MergeResult:
            event = await self._claim(
                repo,
                WebhookEvent(
                    id=uuid.uuid4().hex,
                    organization_id=command.organization_id,
                    event_id=command.event_id,
                    action="merge_candidate",
                    greenhouse_candidate_id=surviving,
                    greenhouse_application_id=None,
                    occurred_at=None,
                    received_at=now,
                    outcome=Outcome.UNKNOWN_CANDIDATE,
                    detail={"merged_greenhouse_candidate_ids": merged_ids},
                ),
            )
            result = await self._merge(repo, command.organization_id, surviving, merged_ids, now)
            event.outcome = result.outcome
            event.candidate_id = result.candidate_id
            event.detail = {**event.detail, "merged": result.merged}
            return result

        async def duplicate(repo: Repository, seen: WebhookEvent) -> MergeResult:
            return MergeResult(
                Outcome.DUPLICATE, seen.candidate_id, int(seen.detail.get("merged", 0))
            )

        result = await self._once(command.organization_id, command.event_id, handle, duplicate)
        MERGES.labels(result.outcome.value).inc()
        log.info(
            "candidates.merge_handled",
            organization_id=command.organization_id,
            event_id=command.event_id,
            outcome=result.outcome.value,
            candidate_id=result.candidate_id,
            merged=result.merged,
        )
        return result

    async def _merge(
        self,
        repo: Repository,
        organization_id: str,
        surviving: int,
        merged_ids: Sequence[int],
        now: dt.datetime,
    ) -> MergeResult:
        rows = await repo.candidates_by_greenhouse_ids(organization_id, [surviving, *merged_ids])
        by_greenhouse_id = {row.greenhouse_candidate_id: row for row in rows}
        survivor = await repo.resolve(by_greenhouse_id.get(surviving), for_update=True)
        merged = 0
        for greenhouse_id in merged_ids:
            row = by_greenhouse_id.get(greenhouse_id)
            if row is None or row.merged_into_id is not None:
                continue  # not ours, or merged before
            if survivor is None:
                # Only the merged record is ours: it becomes the surviving candidate.
                row.greenhouse_candidate_id = surviving
                row.updated_at = now
                await repo.flush()
                survivor = row
            elif row.id != survivor.id:
                await self._fold(repo, row, survivor, now)
            else:
                continue
            merged += 1
        if merged == 0:
            return MergeResult(Outcome.UNKNOWN_CANDIDATE, survivor.id if survivor else None)
        assert survivor is not None
        return MergeResult(Outcome.APPLIED, survivor.id, merged)

    async def _fold(
        self, repo: Repository, merged: Candidate, survivor: Candidate, now: dt.datetime
    ) -> None:
        """Moves `merged`'s applications and data to `survivor`, erases `merged`'s PII
        and points it at `survivor`."""
        kept = await repo.applications(survivor.id)
        taken = {a.greenhouse_application_id for a in kept if a.greenhouse_application_id}
        moved: list[Application] = []
        for application in await repo.applications(merged.id):
            if application.greenhouse_application_id in taken:
                # Greenhouse never gives two candidates one application; should it
                # happen, the survivor's row wins and this one stays behind, blank.
                _erase_application(application, now)
                continue
            application.candidate_id = survivor.id
            application.updated_at = now
            moved.append(application)
        await repo.flush()
        await repo.move_assessment_data(merged.id, survivor.id)
        await repo.redirect_merged(merged.id, survivor.id)
        erase_pii(merged, (), now)
        merged.merged_into_id = survivor.id
        if survivor.erased_at is not None:
            # An erased candidate holds no PII, and what joins it holds none either.
            for application in moved:
                _erase_application(application, now)
            await repo.delete_assessment_data(survivor.id)
        survivor.hiring_status = display_status([*kept, *moved]) or survivor.hiring_status
        survivor.updated_at = now
        await repo.flush()
