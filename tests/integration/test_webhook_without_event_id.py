"""Item 5a: a webhook without Greenhouse-Event-ID is processed, deduplicated on a hash of
its raw body, and answered 200: anything else makes Greenhouse retry for 15 hours, and a
status change or an erasure would be lost."""

from __future__ import annotations

import uuid

from integration.helpers import PARTNER, Reply, Tenant, call, send_test
from support.greenhouse import send_test_body
from support.inprocess import System

from greenhouse_emulator import webhooks
from greenhouse_emulator.signing import encode_webhook_body, sign


async def _deliver_without_event_id(system: System, tenant: Tenant, body: bytes) -> Reply:
    return await call(
        system,
        "POST",
        f"{PARTNER}/webhook",
        headers={
            "X-Organisation": tenant.organization.name,
            "Signature": sign(body, tenant.key),
            "Content-Type": "application/json",
        },
        data=body,
    )


async def test_a_webhook_without_an_event_id_is_applied_once_and_answered_200(
    system: System, tenant: Tenant
) -> None:
    candidate_id = uuid.uuid4().int % 10**11 + 1
    application_id = candidate_id + 1
    body = send_test_body(tenant.test.id, candidate_id=candidate_id, application_id=application_id)
    assert (await send_test(system, tenant.key, body)).status == 200
    reject = encode_webhook_body(
        webhooks.reject_candidate(candidate_id, application_id, rejected_at="2026-05-01T10:00:00Z")
    )

    first = await _deliver_without_event_id(system, tenant, reject)
    again = await _deliver_without_event_id(system, tenant, reject)

    assert (first.status, first.body["outcome"]) == (200, "applied")
    assert (again.status, again.body["outcome"]) == (200, "duplicate")


async def test_two_different_webhooks_without_event_ids_are_not_taken_for_one(
    system: System, tenant: Tenant
) -> None:
    candidate_id = uuid.uuid4().int % 10**11 + 1
    first = encode_webhook_body(webhooks.candidate_anonymized(candidate_id, ["full_name"]))
    second = encode_webhook_body(webhooks.candidate_anonymized(candidate_id + 7, ["full_name"]))

    replies = [await _deliver_without_event_id(system, tenant, body) for body in (first, second)]

    # Neither candidate is ours: each is recorded as its own event, neither a duplicate.
    assert [(reply.status, reply.body["outcome"]) for reply in replies] == [
        (200, "unknown_candidate"),
        (200, "unknown_candidate"),
    ]
