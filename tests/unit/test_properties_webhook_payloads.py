"""Properties of the gateway's body parsing: webhook payloads (gateway.webhook_payloads)
and the partner bodies (gateway.schemas). Garbage is a RequestError (4xx) and nothing
else; what is accepted goes into the protobuf requests without error; valid payloads
round-trip."""

from __future__ import annotations

import json
from typing import Any

from google.protobuf import timestamp_pb2
from hypothesis import example, given
from hypothesis import strategies as st

from alooba.assessments.v1 import assessments_pb2 as apb
from alooba.candidates.v1 import candidates_pb2 as cpb
from gateway.errors import RequestError
from gateway.schemas import ResponseErrorBody, SendTestBody, parse_body
from gateway.webhook_payloads import (
    AnonymizedPayload,
    ApplicationPayload,
    DeletedPayload,
    Envelope,
    MergedPayload,
    PingPayload,
    occurred_at,
    parse,
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
greenhouse_ids = st.integers(min_value=1, max_value=2**63 - 1)
huge = st.integers(min_value=2**63, max_value=2**70) | st.integers(max_value=-(2**63) - 1)
timestamps = st.none() | st.text(max_size=30) | st.datetimes().map(lambda t: t.isoformat() + "Z")
STATUS_ACTIONS = ["reject_candidate", "unreject_candidate", "hire_candidate", "unhire_candidate"]


def refusal(function: Any, *args: Any) -> int | None:
    """The status of the RequestError `function(*args)` raised, None if it returned; any
    other exception propagates (and fails the test)."""
    try:
        function(*args)
    except RequestError as error:
        return error.status
    return None


def status_request(action: str, payload: ApplicationPayload) -> cpb.ApplyStatusEventRequest:
    """The handler's translation (handlers/webhooks.py _status)."""
    occur_time = None
    if (when := occurred_at(action, payload.application)) is not None:
        occur_time = timestamp_pb2.Timestamp()
        occur_time.FromDatetime(when)
    return cpb.ApplyStatusEventRequest(
        organization_id="org",
        event_id="event",
        greenhouse_candidate_id=payload.application.candidate.id,
        greenhouse_application_id=payload.application.id,
        occur_time=occur_time,
    )


def translate(model: type[Any], data: Any, action: str) -> None:
    """Parses `data` as the handler does and builds its protobuf request."""
    parsed = parse(model, data, action)
    if model is ApplicationPayload:
        status_request(action, parsed)
    elif model is AnonymizedPayload:
        cpb.EraseCandidateRequest(
            greenhouse_candidate_id=parsed.candidate_id,
            requested_fields=[field[:100] for field in parsed.anonymized_fields[:100]],
        )
    elif model is DeletedPayload:
        cpb.EraseCandidateRequest(greenhouse_candidate_id=parsed.person.id)
    elif model is MergedPayload:
        cpb.MergeCandidatesRequest(
            surviving_greenhouse_candidate_id=parsed.person.new_candidate_id,
            merged_greenhouse_candidate_ids=[parsed.person.id],
        )
    else:
        apb.WebhookPing(
            web_hook_id=parsed.web_hook_id,
            name=parsed.name,
            event=parsed.event,
            endpoint_url=parsed.endpoint_url,
            active=parsed.active,
        )


MODELS = st.sampled_from(
    [
        (ApplicationPayload, "reject_candidate"),
        (ApplicationPayload, "hire_candidate"),
        (AnonymizedPayload, "candidate_anonymized"),
        (DeletedPayload, "delete_candidate"),
        (MergedPayload, "merge_candidate"),
        (PingPayload, "ping"),
    ]
)


def _application(app_id: Any, candidate_id: Any, when: Any) -> dict[str, Any]:
    return {
        "application": {
            "id": app_id,
            "candidate": {"id": candidate_id},
            "rejected_at": when,
            "last_activity_at": when,
            "offer": {"resolved_at": when},
        }
    }


@given(MODELS, json_values)
@example((PingPayload, "ping"), {"web_hook_id": 2**64})
@example((ApplicationPayload, "reject_candidate"), _application(2**63, 1, None))
@example((MergedPayload, "merge_candidate"), {"person": {"id": 1, "new_candidate_id": -(2**64)}})
def test_garbage_payloads_are_a_422_or_translate(model_and_action: Any, data: Any) -> None:
    model, action = model_and_action
    assert refusal(translate, model, data, action) in (None, 422)


@given(st.sampled_from(STATUS_ACTIONS), greenhouse_ids | huge, greenhouse_ids | huge, timestamps)
# Times at either end of the calendar do not fit in UTC: FromDatetime overflowed (a 500).
@example("reject_candidate", 1, 2, "0001-01-01T00:00:00+01:00")
@example("unhire_candidate", 1, 2, "9999-12-31T23:59:59-05:00")
def test_application_payloads_translate_or_are_422(
    action: str, app_id: int, candidate_id: int, when: str | None
) -> None:
    status = refusal(
        translate, ApplicationPayload, _application(app_id, candidate_id, when), action
    )
    in_range = all(-(2**63) <= n <= 2**63 - 1 for n in (app_id, candidate_id))
    assert status == (None if in_range else 422)


@given(
    st.sampled_from(STATUS_ACTIONS),
    greenhouse_ids,
    greenhouse_ids,
    st.datetimes(timezones=st.timezones()),
)
def test_valid_application_payloads_round_trip(
    action: str, app_id: int, candidate_id: int, when: Any
) -> None:
    envelope = {"action": action, "payload": _application(app_id, candidate_id, when.isoformat())}
    parsed_envelope = parse(Envelope, json.loads(json.dumps(envelope)), "webhook")
    assert parsed_envelope.action == action
    payload = parse(ApplicationPayload, parsed_envelope.payload, action)
    assert (payload.application.id, payload.application.candidate.id) == (app_id, candidate_id)
    request = status_request(action, payload)
    assert (request.greenhouse_application_id, request.greenhouse_candidate_id) == (
        app_id,
        candidate_id,
    )


@given(greenhouse_ids, st.lists(st.text(max_size=40), max_size=10))
def test_valid_anonymized_payloads_round_trip(candidate_id: int, fields: list[str]) -> None:
    data = {"candidate_id": candidate_id, "anonymized_fields": fields, "extra": [1]}
    parsed = parse(AnonymizedPayload, json.loads(json.dumps(data)), "candidate_anonymized")
    assert (parsed.candidate_id, parsed.anonymized_fields) == (candidate_id, fields)


@given(json_values)
def test_garbage_envelopes_are_a_422_or_an_envelope(data: Any) -> None:
    assert refusal(parse, Envelope, data, "webhook") in (None, 422)


@given(
    st.sampled_from([SendTestBody, ResponseErrorBody]),
    st.binary(max_size=500) | json_values.map(lambda v: json.dumps(v).encode()),
)
@example(SendTestBody, b"[" * 100_000)
def test_garbage_partner_bodies_are_400_or_422(model: Any, raw: bytes) -> None:
    assert refusal(parse_body, model, raw) in (None, 400, 422)
