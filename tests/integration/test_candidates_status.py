"""Status webhooks (reject, unreject, hire, unhire) reach the candidates service as
ApplyStatusEvent: deduplicated by Greenhouse-Event-ID, tolerant of redelivery and
reordering, recorded as a history."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

import grpc
import pytest
from google.protobuf import timestamp_pb2
from prometheus_client import REGISTRY
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool
from support.inprocess import System

from alooba.candidates.v1 import candidates_pb2 as pb
from alooba_common.db import async_url

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
# A morning in the past, so no time below is in the future.
MORNING = (NOW - dt.timedelta(days=2)).replace(hour=8, minute=0, second=0)


def at(hour: int, minute: int = 0) -> dt.datetime:
    return MORNING.replace(hour=hour, minute=minute)


def org() -> str:
    return uuid.uuid4().hex


def gh_id() -> int:
    return uuid.uuid4().int % 10**12 + 1


async def register(
    system: System, organization_id: str, greenhouse_candidate_id: int, application: int | None
) -> tuple[str, str]:
    response = await system.candidates.RegisterApplication(
        pb.RegisterApplicationRequest(
            organization_id=organization_id,
            greenhouse_candidate_id=greenhouse_candidate_id,
            greenhouse_application_id=application,
            contact=pb.ContactDetails(
                first_name="Hector", last_name="Porter", email="hector@example.com"
            ),
            profile_url=f"https://app.greenhouse.io/people/{greenhouse_candidate_id}",
        )
    )
    return response.candidate_id, response.application_id


async def event(
    system: System,
    organization_id: str,
    action: int,
    greenhouse_candidate_id: int,
    application: int | None = None,
    *,
    when: dt.datetime | None = None,
    event_id: str | None = None,
) -> pb.ApplyStatusEventResponse:
    occur_time = None
    if when is not None:
        occur_time = timestamp_pb2.Timestamp()
        occur_time.FromDatetime(when)
    response: pb.ApplyStatusEventResponse = await system.candidates.ApplyStatusEvent(
        pb.ApplyStatusEventRequest(
            organization_id=organization_id,
            event_id=event_id or uuid.uuid4().hex,
            action=action,
            greenhouse_candidate_id=greenhouse_candidate_id,
            greenhouse_application_id=application,
            occur_time=occur_time,
        )
    )
    return response


async def candidate(system: System, organization_id: str, candidate_id: str) -> pb.Candidate:
    response = await system.candidates.GetCandidate(
        pb.GetCandidateRequest(organization_id=organization_id, candidate_id=candidate_id)
    )
    return response.candidate


def application_status(found: pb.Candidate, application_id: str) -> Any:
    return next(a for a in found.applications if a.id == application_id).status


async def history(system: System, organization_id: str) -> list[Any]:
    """The organization's rows of the webhook event history, oldest first."""
    engine = create_async_engine(async_url(system.databases["candidates"]), poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text(
                    "SELECT event_id, action, greenhouse_candidate_id, greenhouse_application_id,"
                    " occurred_at, received_at, outcome, candidate_id, status"
                    " FROM webhook_event WHERE organization_id = :org ORDER BY received_at"
                ),
                {"org": organization_id},
            )
            return list(rows)
    finally:
        await engine.dispose()


async def test_reject_unreject_hire_unhire_each_set_the_application_status(
    system: System,
) -> None:
    organization, greenhouse = org(), gh_id()
    candidate_id, _ = await register(system, organization, greenhouse, 11)
    steps = [
        (pb.STATUS_ACTION_REJECT, 9, pb.HIRING_STATUS_REJECTED),
        (pb.STATUS_ACTION_UNREJECT, 10, pb.HIRING_STATUS_ACTIVE),
        (pb.STATUS_ACTION_HIRE, 11, pb.HIRING_STATUS_HIRED),
        (pb.STATUS_ACTION_UNHIRE, 12, pb.HIRING_STATUS_ACTIVE),
    ]
    for action, hour, expected in steps:
        response = await event(system, organization, action, greenhouse, 11, when=at(hour))
        assert response.outcome == pb.EVENT_OUTCOME_APPLIED
        assert response.candidate_id == candidate_id
        assert response.status == expected
        found = await candidate(system, organization, candidate_id)
        (application,) = found.applications
        assert application.status == expected
        assert application.status_change_time.ToDatetime(tzinfo=dt.UTC) == at(hour)
        assert found.status == expected


async def test_a_new_application_is_active_until_an_event_says_otherwise(system: System) -> None:
    organization = org()
    candidate_id, _ = await register(system, organization, gh_id(), 1)
    found = await candidate(system, organization, candidate_id)
    assert found.applications[0].status == pb.HIRING_STATUS_ACTIVE
    assert not found.applications[0].HasField("status_change_time")


async def test_a_duplicate_event_id_is_applied_once(system: System) -> None:
    organization, greenhouse = org(), gh_id()
    candidate_id, application_id = await register(system, organization, greenhouse, 5)
    first = await event(
        system, organization, pb.STATUS_ACTION_REJECT, greenhouse, 5, when=at(9), event_id="e-1"
    )
    await event(system, organization, pb.STATUS_ACTION_UNREJECT, greenhouse, 5, when=at(10))

    again = await event(
        system, organization, pb.STATUS_ACTION_REJECT, greenhouse, 5, when=at(11), event_id="e-1"
    )

    assert first.outcome == pb.EVENT_OUTCOME_APPLIED
    assert again.outcome == pb.EVENT_OUTCOME_DUPLICATE
    assert again.candidate_id == candidate_id
    found = await candidate(system, organization, candidate_id)
    assert application_status(found, application_id) == pb.HIRING_STATUS_ACTIVE
    assert [row.event_id for row in await history(system, organization)].count("e-1") == 1


async def test_a_stale_redelivery_is_recorded_and_changes_nothing(system: System) -> None:
    """A reject at 10:00 delivered after an unreject at 11:00 must not overwrite it."""
    organization, greenhouse = org(), gh_id()
    candidate_id, _ = await register(system, organization, greenhouse, 7)
    await event(system, organization, pb.STATUS_ACTION_REJECT, greenhouse, 7, when=at(9))
    unreject = await event(
        system, organization, pb.STATUS_ACTION_UNREJECT, greenhouse, 7, when=at(11)
    )

    late = await event(
        system, organization, pb.STATUS_ACTION_REJECT, greenhouse, 7, when=at(10), event_id="late"
    )

    assert unreject.outcome == pb.EVENT_OUTCOME_APPLIED
    assert late.outcome == pb.EVENT_OUTCOME_STALE
    assert late.status == pb.HIRING_STATUS_ACTIVE
    found = await candidate(system, organization, candidate_id)
    (application,) = found.applications
    assert application.status == pb.HIRING_STATUS_ACTIVE
    assert application.status_change_time.ToDatetime(tzinfo=dt.UTC) == at(11)
    (row,) = [row for row in await history(system, organization) if row.event_id == "late"]
    assert (row.action, row.outcome, row.candidate_id) == (
        "reject_candidate",
        "stale",
        candidate_id,
    )


async def test_the_history_keeps_ids_greenhouse_time_and_time_received(system: System) -> None:
    organization, greenhouse = org(), gh_id()
    candidate_id, _ = await register(system, organization, greenhouse, 8)
    before = dt.datetime.now(dt.UTC)
    await event(
        system, organization, pb.STATUS_ACTION_HIRE, greenhouse, 8, when=at(9), event_id="h-1"
    )

    (row,) = await history(system, organization)

    assert row.event_id == "h-1"
    assert row.action == "hire_candidate"
    assert (row.greenhouse_candidate_id, row.greenhouse_application_id) == (greenhouse, 8)
    assert _utc(row.occurred_at) == at(9)
    assert _utc(row.received_at) >= before - dt.timedelta(seconds=1)
    assert (row.outcome, row.candidate_id, row.status) == ("applied", candidate_id, "hired")


def _utc(value: Any) -> dt.datetime:
    # SQLite hands back text or a naive datetime; PostgreSQL an aware one.
    parsed = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    return parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed.astimezone(dt.UTC)


async def test_equal_times_apply_the_last_event_received(system: System) -> None:
    organization, greenhouse = org(), gh_id()
    candidate_id, _ = await register(system, organization, greenhouse, 3)
    await event(system, organization, pb.STATUS_ACTION_REJECT, greenhouse, 3, when=at(10))

    second = await event(system, organization, pb.STATUS_ACTION_HIRE, greenhouse, 3, when=at(10))

    assert second.outcome == pb.EVENT_OUTCOME_APPLIED
    assert (await candidate(system, organization, candidate_id)).status == pb.HIRING_STATUS_HIRED


async def test_an_event_without_a_time_counts_as_happening_when_received(system: System) -> None:
    organization, greenhouse = org(), gh_id()
    candidate_id, _ = await register(system, organization, greenhouse, 4)
    await event(system, organization, pb.STATUS_ACTION_REJECT, greenhouse, 4)

    older = await event(system, organization, pb.STATUS_ACTION_UNREJECT, greenhouse, 4, when=at(9))

    assert older.outcome == pb.EVENT_OUTCOME_STALE
    found = await candidate(system, organization, candidate_id)
    assert found.status == pb.HIRING_STATUS_REJECTED
    assert found.applications[0].status_change_time.ToDatetime(tzinfo=dt.UTC) > at(9)


async def test_a_time_in_the_future_does_not_make_later_events_stale(system: System) -> None:
    organization, greenhouse = org(), gh_id()
    candidate_id, _ = await register(system, organization, greenhouse, 4)
    tomorrow = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    await event(system, organization, pb.STATUS_ACTION_REJECT, greenhouse, 4, when=tomorrow)

    later = await event(system, organization, pb.STATUS_ACTION_UNREJECT, greenhouse, 4)

    assert later.outcome == pb.EVENT_OUTCOME_APPLIED
    assert (await candidate(system, organization, candidate_id)).status == pb.HIRING_STATUS_ACTIVE


async def test_an_unknown_candidate_is_recorded_and_its_redelivery_is_a_duplicate(
    system: System,
) -> None:
    organization, greenhouse = org(), gh_id()

    first = await event(
        system, organization, pb.STATUS_ACTION_REJECT, greenhouse, 1, event_id="unknown"
    )
    again = await event(
        system, organization, pb.STATUS_ACTION_REJECT, greenhouse, 1, event_id="unknown"
    )

    assert first.outcome == pb.EVENT_OUTCOME_UNKNOWN_CANDIDATE
    assert first.candidate_id == ""
    assert again.outcome == pb.EVENT_OUTCOME_DUPLICATE
    rows = await history(system, organization)
    assert [(row.event_id, row.outcome) for row in rows] == [("unknown", "unknown_candidate")]


async def test_an_application_that_is_not_ours_changes_nothing(system: System) -> None:
    organization, greenhouse = org(), gh_id()
    candidate_id, application_id = await register(system, organization, greenhouse, 21)

    response = await event(system, organization, pb.STATUS_ACTION_HIRE, greenhouse, 22)

    assert response.outcome == pb.EVENT_OUTCOME_UNKNOWN_CANDIDATE
    assert response.candidate_id == candidate_id
    found = await candidate(system, organization, candidate_id)
    assert application_status(found, application_id) == pb.HIRING_STATUS_ACTIVE
    assert found.status == pb.HIRING_STATUS_ACTIVE


async def test_an_event_for_one_application_leaves_the_others_alone(system: System) -> None:
    organization, greenhouse = org(), gh_id()
    candidate_id, first = await register(system, organization, greenhouse, 31)
    _, second = await register(system, organization, greenhouse, 32)

    await event(system, organization, pb.STATUS_ACTION_REJECT, greenhouse, 31, when=at(9))

    found = await candidate(system, organization, candidate_id)
    assert application_status(found, first) == pb.HIRING_STATUS_REJECTED
    assert application_status(found, second) == pb.HIRING_STATUS_ACTIVE
    # The candidate's own status is that of the most recently changed application.
    assert found.status == pb.HIRING_STATUS_REJECTED
    await event(system, organization, pb.STATUS_ACTION_HIRE, greenhouse, 32, when=at(10))
    assert (await candidate(system, organization, candidate_id)).status == pb.HIRING_STATUS_HIRED


async def test_an_event_without_an_application_id_applies_to_every_application(
    system: System,
) -> None:
    organization, greenhouse = org(), gh_id()
    candidate_id, first = await register(system, organization, greenhouse, 41)
    _, second = await register(system, organization, greenhouse, 42)
    await event(system, organization, pb.STATUS_ACTION_UNREJECT, greenhouse, 42, when=at(11))

    response = await event(system, organization, pb.STATUS_ACTION_REJECT, greenhouse, when=at(10))

    # The second application changed later than this event: it stays as it is.
    assert response.outcome == pb.EVENT_OUTCOME_APPLIED
    found = await candidate(system, organization, candidate_id)
    assert application_status(found, first) == pb.HIRING_STATUS_REJECTED
    assert application_status(found, second) == pb.HIRING_STATUS_ACTIVE
    assert found.status == pb.HIRING_STATUS_ACTIVE


async def test_concurrent_deliveries_of_one_event_apply_it_once(system: System) -> None:
    organization, greenhouse = org(), gh_id()
    await register(system, organization, greenhouse, 51)

    responses = await asyncio.gather(
        *(
            event(
                system,
                organization,
                pb.STATUS_ACTION_REJECT,
                greenhouse,
                51,
                when=at(9),
                event_id="same",
            )
            for _ in range(10)
        )
    )

    outcomes = sorted(response.outcome for response in responses)
    assert outcomes == [pb.EVENT_OUTCOME_APPLIED] + [pb.EVENT_OUTCOME_DUPLICATE] * 9
    assert len(await history(system, organization)) == 1


async def test_another_organizations_event_is_an_unknown_candidate(system: System) -> None:
    organization, greenhouse = org(), gh_id()
    candidate_id, _ = await register(system, organization, greenhouse, 61)

    response = await event(system, org(), pb.STATUS_ACTION_HIRE, greenhouse, 61)

    assert response.outcome == pb.EVENT_OUTCOME_UNKNOWN_CANDIDATE
    assert response.candidate_id == ""
    assert (await candidate(system, organization, candidate_id)).status == pb.HIRING_STATUS_ACTIVE


async def test_event_ids_are_deduplicated_per_organization(system: System) -> None:
    greenhouse = gh_id()
    first_org, second_org = org(), org()
    await register(system, first_org, greenhouse, 71)
    await register(system, second_org, greenhouse, 71)

    one = await event(system, first_org, pb.STATUS_ACTION_HIRE, greenhouse, 71, event_id="x")
    two = await event(system, second_org, pb.STATUS_ACTION_HIRE, greenhouse, 71, event_id="x")

    assert (one.outcome, two.outcome) == (pb.EVENT_OUTCOME_APPLIED, pb.EVENT_OUTCOME_APPLIED)


@pytest.mark.parametrize(
    "changes",
    [
        {"action": pb.STATUS_ACTION_UNSPECIFIED},
        {"event_id": ""},
        {"event_id": "e" * 201},
        {"organization_id": ""},
        {"greenhouse_candidate_id": 0},
        {"greenhouse_application_id": -1},
    ],
)
async def test_an_invalid_status_event_is_refused(system: System, changes: dict[str, Any]) -> None:
    request = {
        "organization_id": org(),
        "event_id": "e-1",
        "action": pb.STATUS_ACTION_REJECT,
        "greenhouse_candidate_id": 1,
        **changes,
    }
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await system.candidates.ApplyStatusEvent(pb.ApplyStatusEventRequest(**request))
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_status_events_are_counted_by_action_and_outcome(system: System) -> None:
    def count(outcome: str) -> float:
        labels = {"action": "hire", "outcome": outcome}
        return REGISTRY.get_sample_value("candidates_status_events_total", labels) or 0.0

    organization, greenhouse = org(), gh_id()
    await register(system, organization, greenhouse, 81)
    applied, duplicate = count("applied"), count("duplicate")

    await event(system, organization, pb.STATUS_ACTION_HIRE, greenhouse, 81, event_id="m")
    await event(system, organization, pb.STATUS_ACTION_HIRE, greenhouse, 81, event_id="m")

    assert (count("applied"), count("duplicate")) == (applied + 1, duplicate + 1)
