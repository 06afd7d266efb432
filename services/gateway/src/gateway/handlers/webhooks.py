"""Greenhouse's webhooks: candidate status synchronization and data anonymization.

The answer is exactly 200 only once the event is durably recorded by the service that
owns it; anything else makes Greenhouse retry (7 attempts over 15 hours), which is what
we want when a service is down. Actions we do not act on are answered 200 and counted:
a 4xx would only make Greenhouse retry for 15 hours and email the customer's admin.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import structlog
from aiohttp import web
from google.protobuf import timestamp_pb2

from alooba.assessments.v1 import assessments_pb2 as apb
from alooba.candidates.v1 import candidates_pb2 as cpb
from alooba_common.http_server import client_address
from alooba_common.validation import has_control_characters
from gateway.errors import RequestError
from gateway.keys import (
    AUTH_THROTTLE,
    BACKENDS,
    METRICS,
    SETTINGS,
    WEBHOOK_GATE,
    WEBHOOK_ORGANIZATIONS,
)
from gateway.webhook_gate import QueueFull
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

log = structlog.get_logger("gateway.webhooks")

_STATUS_ACTIONS = {
    "reject_candidate": cpb.STATUS_ACTION_REJECT,
    "unreject_candidate": cpb.STATUS_ACTION_UNREJECT,
    "hire_candidate": cpb.STATUS_ACTION_HIRE,
    "unhire_candidate": cpb.STATUS_ACTION_UNHIRE,
}
_OUTCOMES = {
    cpb.EVENT_OUTCOME_APPLIED: "applied",
    cpb.EVENT_OUTCOME_DUPLICATE: "duplicate",
    cpb.EVENT_OUTCOME_STALE: "stale",
    cpb.EVENT_OUTCOME_UNKNOWN_CANDIDATE: "unknown_candidate",
}
_MAX_EVENT_ID = 200
_MAX_ACTION = 64
_MAX_ORGANISATION = 200
# Greenhouse's format exactly (reference §2.3); anything else cannot verify.
_SIGNATURE = re.compile(r"sha256 [0-9a-fA-F]{64}")
# The action, read without parsing the body (which is not yet known to be Greenhouse's):
# Greenhouse puts it first, and only the first kilobyte is looked at.
_ACTION = re.compile(rb'"action"\s*:\s*"([a-z_]{1,64})"')
_ACTION_WINDOW = 1024


def _plausible_organisation(name: str) -> bool:
    return 0 < len(name) <= _MAX_ORGANISATION and not has_control_characters(name)


def claimed_action(body: bytes) -> str:
    """The action the body says it is, for the setup check's receipts; "" if not found."""
    match = _ACTION.search(body, 0, _ACTION_WINDOW)
    return match.group(1).decode("ascii") if match else ""


async def receive(request: web.Request) -> web.Response:
    backends = request.app[BACKENDS]
    metrics = request.app[METRICS]
    settings = request.app[SETTINGS]
    organisation = request.headers.get("X-Organisation", "")
    signature = request.headers.get("Signature", "").strip()
    # Everything the headers alone can refuse is refused before the body is read.
    if not _plausible_organisation(organisation) or not _SIGNATURE.fullmatch(signature):
        metrics.webhooks.labels("unknown", "rejected").inc()
        raise RequestError(
            401, 'X-Organisation and a Signature of the form "sha256 <hex digest>" are required'
        )
    if request.content_length is not None and request.content_length > settings.max_body_bytes:
        raise RequestError(413, f"the body is over {settings.max_body_bytes} bytes")
    if not await request.app[WEBHOOK_ORGANIZATIONS].known(organisation):
        metrics.webhooks.labels("unknown", "rejected").inc()
        # Word for word what a wrong signature gets: nothing tells which names exist.
        raise RequestError(401, "invalid webhook signature")

    address = client_address(request, settings.trusted_proxy_hops)
    throttled = request.app[AUTH_THROTTLE].address_throttled(address)
    try:
        async with request.app[WEBHOOK_GATE].admit(address, throttled=throttled):
            body = await request.read()
            verified = await backends.webhooks.VerifyWebhookSignature(
                apb.VerifyWebhookSignatureRequest(
                    organization_name=organisation,
                    signature=signature,
                    body=body,
                    # Only counted by assessments for the setup check (`alooba-gh doctor`).
                    action=claimed_action(body),
                ),
                timeout=backends.timeout,
            )
    except QueueFull:
        metrics.webhooks.labels("unknown", "deferred").inc()
        raise RequestError(
            503,
            "too many webhooks from this address are waiting to be checked; retry later",
            headers={"Retry-After": "1"},
        ) from None
    organization_id = verified.organization_id

    # Parsed only now: an unauthenticated body is never parsed (a megabyte of small JSON
    # objects costs more than everything else done with it).
    try:
        document: Any = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        # RecursionError: nesting deeper than the parser's stack, e.g. "[" * 100_000.
        raise RequestError(400, "the webhook body is not valid JSON") from None
    envelope = parse(Envelope, document, "webhook")
    action = envelope.action
    event_id = request.headers.get("Greenhouse-Event-ID", "").strip()
    if not event_id or len(event_id) > _MAX_EVENT_ID or has_control_characters(event_id):
        # Greenhouse documents the header on every delivery. Without it (or with one we
        # cannot keep) the event is still applied: a redelivery is the same bytes, so
        # their hash deduplicates it. A 400 would only make Greenhouse retry for 15 hours.
        event_id = "sha256:" + hashlib.sha256(body).hexdigest()
    structlog.contextvars.bind_contextvars(webhook_action=action, event_id=event_id)

    if action == "ping":
        outcome = await _ping(request, organization_id, envelope)
    elif action in _STATUS_ACTIONS:
        outcome = await _status(request, organization_id, event_id, envelope)
    elif action in ("candidate_anonymized", "delete_candidate"):
        outcome = await _erase(request, organization_id, event_id, envelope)
    elif action == "merge_candidate":
        outcome = await _merge(request, organization_id, event_id, envelope)
    else:
        outcome = "ignored"
    metrics.webhooks.labels(action if outcome != "ignored" else "other", outcome).inc()
    log.info("webhook.handled", outcome=outcome)
    # Exactly 200: Greenhouse counts any other status, 2xx included, as a failure.
    return web.json_response({"status": "ok", "outcome": outcome}, status=200)


async def _ping(request: web.Request, organization_id: str, envelope: Envelope) -> str:
    backends = request.app[BACKENDS]
    ping = parse(PingPayload, envelope.payload, "ping")
    await backends.webhooks.RecordWebhookPing(
        apb.RecordWebhookPingRequest(
            ping=apb.WebhookPing(
                organization_id=organization_id,
                web_hook_id=ping.web_hook_id,
                name=ping.name,
                event=ping.event,
                endpoint_url=ping.endpoint_url,
                active=ping.active,
            )
        ),
        timeout=backends.timeout,
    )
    return "recorded"


async def _status(
    request: web.Request, organization_id: str, event_id: str, envelope: Envelope
) -> str:
    backends = request.app[BACKENDS]
    payload = parse(ApplicationPayload, envelope.payload, envelope.action)
    application = payload.application
    occur_time = None
    if (when := occurred_at(envelope.action, application)) is not None:
        occur_time = timestamp_pb2.Timestamp()
        occur_time.FromDatetime(when)
    response = await backends.candidates.ApplyStatusEvent(
        cpb.ApplyStatusEventRequest(
            organization_id=organization_id,
            event_id=event_id,
            action=_STATUS_ACTIONS[envelope.action],
            greenhouse_candidate_id=application.candidate.id,
            greenhouse_application_id=application.id,
            occur_time=occur_time,
        ),
        timeout=backends.timeout,
    )
    return _OUTCOMES.get(response.outcome, "applied")


async def _erase(
    request: web.Request, organization_id: str, event_id: str, envelope: Envelope
) -> str:
    backends = request.app[BACKENDS]
    if envelope.action == "candidate_anonymized":
        anonymized = parse(AnonymizedPayload, envelope.payload, envelope.action)
        greenhouse_id, fields = anonymized.candidate_id, anonymized.anonymized_fields
    else:
        greenhouse_id = parse(DeletedPayload, envelope.payload, envelope.action).person.id
        fields = []
    response = await backends.candidates.EraseCandidate(
        cpb.EraseCandidateRequest(
            organization_id=organization_id,
            event_id=event_id,
            greenhouse_candidate_id=greenhouse_id,
            reason=envelope.action,
            requested_fields=[field[:100] for field in fields[:100]],
        ),
        timeout=backends.timeout,
    )
    # candidates asks assessments to cancel the candidate's invitations itself, through its
    # outbox, in the erasure's transaction: nothing more to do here, and nothing for a
    # Greenhouse redelivery to finish.
    return _OUTCOMES.get(response.outcome, "applied")


async def _merge(
    request: web.Request, organization_id: str, event_id: str, envelope: Envelope
) -> str:
    backends = request.app[BACKENDS]
    payload = parse(MergedPayload, envelope.payload, envelope.action)
    response = await backends.candidates.MergeCandidates(
        cpb.MergeCandidatesRequest(
            organization_id=organization_id,
            event_id=event_id,
            surviving_greenhouse_candidate_id=payload.person.new_candidate_id,
            merged_greenhouse_candidate_ids=[payload.person.id],
        ),
        timeout=backends.timeout,
    )
    return _OUTCOMES.get(response.outcome, "applied")
