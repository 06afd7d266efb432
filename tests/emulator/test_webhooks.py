"""The emulator's Recruiting Webhooks: payload shapes, Greenhouse's JSON escaping and
signature, the headers, and the retry schedule (compressed with time_scale), against a
small fake receiver that verifies signatures as a partner must."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import json
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from greenhouse_emulator import webhooks
from greenhouse_emulator.emulator import GreenhouseEmulator
from greenhouse_emulator.models import Candidate
from greenhouse_emulator.signing import encode_webhook_body, sign
from greenhouse_emulator.webhook_sender import GREENHOUSE_RETRY_DELAYS

KEY = "0d031d8227eafa61dc375a6c2e067e24"
ORG = "Hogwarts School of Witchcraft & Wizardry"
AT = "2026-11-28T20:00:00Z"
# 15 hours in 0.55 s, for tests that only count attempts.
FAST = 0.00001


@dataclass(frozen=True)
class Received:
    body: bytes
    headers: dict[str, str]
    header_list: list[tuple[str, str]]  # as sent, duplicates included
    verified: bool
    at: float


@dataclass
class Receiver:
    """POST /v1/greenhouse/webhook: verifies the Signature over the raw bytes, records
    the request and answers the next scripted status (then `default`)."""

    key: str = KEY
    statuses: deque[int] = field(default_factory=deque)
    default: int = 200
    delay: deque[float] = field(default_factory=deque)
    received: list[Received] = field(default_factory=list)
    in_flight: int = 0
    most_in_flight: int = 0
    base_url: str = ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/greenhouse/webhook", self._webhook)
        return app

    def verify(self, body: bytes, header: str | None) -> bool:
        scheme, _, digest = (header or "").partition(" ")
        expected = hmac.new(self.key.encode(), body, hashlib.sha256).hexdigest()
        return scheme == "sha256" and hmac.compare_digest(digest.encode(), expected.encode())

    async def _webhook(self, request: web.Request) -> web.Response:
        at = time.monotonic()
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            body = await request.read()
            verified = self.verify(body, request.headers.get("Signature"))
            headers = list(request.headers.items())
            self.received.append(Received(body, dict(headers), headers, verified, at))
            if self.delay:
                await asyncio.sleep(self.delay.popleft())
            if not verified:
                return web.Response(status=401)
            return web.Response(status=self.statuses.popleft() if self.statuses else self.default)
        finally:
            self.in_flight -= 1


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    fake = Receiver()
    runner = web.AppRunner(fake.app(), access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    fake.base_url = f"http://127.0.0.1:{runner.addresses[0][1]}/v1/greenhouse"
    yield fake
    await runner.cleanup()


@pytest.fixture
async def greenhouse(receiver: Receiver) -> AsyncIterator[GreenhouseEmulator]:
    async with GreenhouseEmulator(
        receiver.base_url, KEY, tls=False, webhook_time_scale=FAST
    ) as emulator:
        yield emulator


def _reject() -> dict[str, Any]:
    return webhooks.reject_candidate(17681532, 26234709, rejected_at=AT)


# --- the body and its signature --------------------------------------------------------------


def test_body_is_compact_and_escaped_as_greenhouse_does() -> None:
    # The docs' own example of the escaping, then non-ASCII and an astral character.
    assert encode_webhook_body({"content": "<p>hello</p>"}) == (
        b'{"content":"\\u003cp\\u003ehello\\u003c/p\\u003e"}'
    )
    assert encode_webhook_body({"a": ["Zo\u00eb & co", 1, None]}) == (
        b'{"a":["Zo\\u00eb \\u0026 co",1,null]}'
    )
    assert encode_webhook_body({"e": "\U0001f600"}) == b'{"e":"\\ud83d\\ude00"}'


def test_signature_is_sha256_space_lowercase_hex() -> None:
    # A published HMAC-SHA256 test vector.
    body = b"The quick brown fox jumps over the lazy dog"
    assert sign(body, "key") == (
        "sha256 f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
    )


async def test_a_webhook_arrives_signed_with_exactly_the_documented_headers(
    greenhouse: GreenhouseEmulator, receiver: Receiver
) -> None:
    payload = _reject()
    delivery = await greenhouse.send_webhook(payload, organisation=ORG)

    assert delivery.delivered
    assert delivery.finished
    assert [attempt.status for attempt in delivery.attempts] == [200]
    (got,) = receiver.received
    assert got.verified
    assert got.body == encode_webhook_body(payload) == delivery.body
    assert json.loads(got.body) == payload
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["Signature"] == sign(got.body, KEY)
    assert got.headers["X-Organisation"] == ORG
    assert uuid.UUID(got.headers["Greenhouse-Event-ID"]) == uuid.UUID(delivery.event_id)
    # Nothing else but what any HTTP client adds.
    transport = {"Host", "Content-Length", "User-Agent", "Accept", "Accept-Encoding"}
    assert {name for name, _ in got.header_list} - transport == {
        "Content-Type",
        "Greenhouse-Event-ID",
        "Signature",
        "X-Organisation",
    }
    assert len(got.header_list) == len(got.headers)  # no header sent twice
    assert delivery.url == f"{receiver.base_url}/webhook" == greenhouse.webhook_url
    assert greenhouse.webhook_deliveries == [delivery]
    assert delivery.action == "reject_candidate"


async def test_non_ascii_and_html_are_escaped_in_the_raw_body_and_still_verify(
    greenhouse: GreenhouseEmulator, receiver: Receiver
) -> None:
    candidate = Candidate(first_name="Zo\u00eb", last_name="\u00c5ngstr\u00f6m", email="zoe@x.se")
    payload = webhooks.reject_candidate(1, 2, rejected_at=AT, candidate=candidate)
    payload["payload"]["application"]["jobs"][0]["notes"] = "<p>hi</p>"
    payload["payload"]["application"]["candidate"]["company"] = "na\u00efve & co"

    await greenhouse.send_webhook(payload, organisation=ORG)

    (got,) = receiver.received
    assert got.verified
    assert got.body.isascii()
    for escaped in (
        b'"first_name":"Zo\\u00eb"',
        b'"last_name":"\\u00c5ngstr\\u00f6m"',
        b'"notes":"\\u003cp\\u003ehi\\u003c/p\\u003e"',
        b'"company":"na\\u00efve \\u0026 co"',
    ):
        assert escaped in got.body
    assert json.loads(got.body) == payload


async def test_event_id_secret_url_and_headers_can_be_chosen(
    greenhouse: GreenhouseEmulator, receiver: Receiver
) -> None:
    receiver.key = "another-secret"
    delivery = await greenhouse.send_webhook(
        _reject(),
        organisation=ORG,
        secret="another-secret",
        event_id="evt-1",
        url=f"{receiver.base_url}/webhook",
        extra_headers={"X-Extra": "1", "content-type": "application/json; charset=utf-8"},
    )
    assert delivery.delivered
    (got,) = receiver.received
    assert (got.headers["Greenhouse-Event-ID"], got.headers["X-Extra"]) == ("evt-1", "1")
    assert [v for k, v in got.header_list if k.lower() == "content-type"] == [
        "application/json; charset=utf-8"
    ]


async def test_a_bad_signature_or_no_organisation_can_be_sent(
    greenhouse: GreenhouseEmulator, receiver: Receiver
) -> None:
    forged = await greenhouse.send_webhook(
        _reject(), organisation=ORG, signature_override="sha256 " + "0" * 64, retry=False
    )
    anonymous = await greenhouse.send_webhook(b"{not json", organisation=None, retry=False)
    assert [a.status for a in forged.attempts] == [401]
    assert not forged.delivered
    assert anonymous.delivered
    assert anonymous.action is None
    assert not receiver.received[0].verified
    assert receiver.received[1].verified  # raw bytes are signed as given
    assert "X-Organisation" not in receiver.received[1].headers


# --- retries ---------------------------------------------------------------------------------


async def test_two_500s_then_200_takes_three_attempts_on_the_1_to_15_schedule(
    greenhouse: GreenhouseEmulator, receiver: Receiver
) -> None:
    scale = 0.002  # 60 s -> 0.12 s, 900 s -> 1.8 s
    greenhouse.webhooks.time_scale = scale
    receiver.statuses.extend([500, 500])

    delivery = await greenhouse.send_webhook(_reject(), organisation=ORG)

    assert delivery.delivered
    assert [a.status for a in delivery.attempts] == [500, 500, 200]
    assert [a.waited for a in delivery.attempts] == [0, 60 * scale, 900 * scale]
    first, second = (
        later.at - earlier.at
        for earlier, later in zip(receiver.received, receiver.received[1:], strict=False)
    )
    assert 60 * scale <= first < 60 * scale + 0.25
    assert 900 * scale <= second < 900 * scale + 0.25
    assert 7 < second / first <= 15
    # One delivery: the same event id, body and signature on every attempt.
    assert len({(r.headers["Greenhouse-Event-ID"], r.body) for r in receiver.received}) == 1
    assert len({r.headers["Signature"] for r in receiver.received}) == 1


async def test_202_is_a_failure_and_is_retried(
    greenhouse: GreenhouseEmulator, receiver: Receiver
) -> None:
    receiver.statuses.extend([202, 204])
    delivery = await greenhouse.send_webhook(_reject(), organisation=ORG)
    assert [a.status for a in delivery.attempts] == [202, 204, 200]
    assert [a.succeeded for a in delivery.attempts] == [False, False, True]


async def test_seven_failed_attempts_and_delivered_is_false(
    greenhouse: GreenhouseEmulator, receiver: Receiver
) -> None:
    receiver.default = 503
    delivery = await greenhouse.send_webhook(_reject(), organisation=ORG)
    assert not delivery.delivered
    assert delivery.finished
    assert [a.status for a in delivery.attempts] == [503] * 7
    assert [a.number for a in delivery.attempts] == list(range(1, 8))
    assert [a.waited for a in delivery.attempts[1:]] == [d * FAST for d in GREENHOUSE_RETRY_DELAYS]
    assert len(receiver.received) == 7


async def test_without_retry_there_is_one_attempt(
    greenhouse: GreenhouseEmulator, receiver: Receiver
) -> None:
    receiver.default = 500
    delivery = await greenhouse.send_webhook(_reject(), organisation=ORG, retry=False)
    assert (len(delivery.attempts), delivery.delivered, len(receiver.received)) == (1, False, 1)


async def test_timeouts_and_connection_errors_are_failures(receiver: Receiver) -> None:
    async with GreenhouseEmulator(
        receiver.base_url, KEY, tls=False, webhook_time_scale=FAST, webhook_timeout=0.2
    ) as greenhouse:
        receiver.delay.append(1.0)
        slow = await greenhouse.send_webhook(_reject(), organisation=ORG)
        nowhere = await greenhouse.send_webhook(
            _reject(), organisation=ORG, url="http://127.0.0.1:9/webhook"
        )
    assert slow.delivered
    assert (slow.attempts[0].status, slow.attempts[0].error) == (None, "TimeoutError()")
    assert slow.attempts[1].status == 200
    assert not nowhere.delivered
    assert len(nowhere.attempts) == 7
    assert all(a.status is None and a.error for a in nowhere.attempts)


# --- bursts and the background -----------------------------------------------------------------


async def test_a_burst_is_bounded_by_concurrency(
    greenhouse: GreenhouseEmulator, receiver: Receiver
) -> None:
    receiver.delay.extend([0.01] * 60)
    payloads = [webhooks.candidate_anonymized(n, ["full_name"]) for n in range(60)]

    deliveries = await greenhouse.send_webhooks(payloads, organisation=ORG, concurrency=10)

    assert all(d.delivered for d in deliveries)
    assert [json.loads(d.body) for d in deliveries] == payloads
    assert len({d.event_id for d in deliveries}) == 60
    assert receiver.most_in_flight <= 10
    assert all(r.verified for r in receiver.received)


async def test_background_deliveries_run_alongside_and_stop_cancels_them(
    receiver: Receiver,
) -> None:
    receiver.default = 500
    async with GreenhouseEmulator(receiver.base_url, KEY, tls=False) as greenhouse:
        stuck = greenhouse.send_webhook_in_background(_reject(), organisation=ORG)
        (stuck_delivery,) = greenhouse.webhook_deliveries  # recorded before any attempt
        await greenhouse.wait_for(lambda: len(stuck_delivery.attempts) == 1, timeout=5)
        # `stuck` now sleeps Greenhouse's real first delay, a minute.
        greenhouse.webhooks.time_scale = FAST
        receiver.default = 200
        quick = greenhouse.send_webhook_in_background(_reject(), organisation=ORG)
        assert (await quick).delivered
        assert not stuck.done()
    assert stuck.cancelled()
    assert (stuck_delivery.finished, stuck_delivery.delivered) == (True, False)
    assert len(stuck_delivery.attempts) == 1


async def test_deliveries_are_shown_on_the_inspection_endpoint(
    greenhouse: GreenhouseEmulator,
) -> None:
    delivery = await greenhouse.send_webhook(_reject(), organisation=ORG)
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{greenhouse.base_url}/_emulator/webhooks") as response,
    ):
        (shown,) = await response.json()
    assert shown["event_id"] == delivery.event_id
    assert shown["delivered"] is True
    assert shown["attempts"][0]["status"] == 200
    assert json.loads(shown["body"])["action"] == "reject_candidate"


# --- the payloads --------------------------------------------------------------------------------

APPLICATION_KEYS = {
    "id",
    "rejected_at",
    "prospect",
    "status",
    "applied_at",
    "last_activity_at",
    "url",
    "source",
    "credited_to",
    "rejection_reason",
    "rejection_details",
    "current_stage",
    "custom_fields",
    "candidate",
    "jobs",
}


def test_reject_has_the_documented_shape_with_pii_and_timestamps() -> None:
    candidate = Candidate(phone_number="+61 400 000 000", email="h@p.edu")
    payload = webhooks.reject_candidate(11, 22, rejected_at=AT, candidate=candidate)
    assert set(payload) == {"action", "payload"}
    assert payload["action"] == "reject_candidate"
    application = payload["payload"]["application"]
    assert set(application) == APPLICATION_KEYS
    assert (application["id"], application["candidate"]["id"]) == (22, 11)
    assert (application["status"], application["rejected_at"]) == ("rejected", AT)
    assert application["last_activity_at"] == AT
    assert application["rejection_reason"]["name"] == "Too Junior"
    assert application["url"] == "https://app.greenhouse.io/people/11?application_id=22"
    person = application["candidate"]
    assert (person["first_name"], person["last_name"]) == ("Harry", "Potter")
    assert person["email_addresses"] == [{"value": "h@p.edu", "type": "personal"}]
    assert person["phone_numbers"] == [{"value": "+61 400 000 000", "type": "mobile"}]


def test_unreject_and_unhire_are_active_with_no_rejection() -> None:
    for payload in (
        webhooks.unreject_candidate(11, 22, last_activity_at=AT),
        webhooks.unhire_candidate(11, 22, last_activity_at=AT),
    ):
        application = payload["payload"]["application"]
        assert set(application) == APPLICATION_KEYS
        assert application["status"] == "active"
        assert application["rejected_at"] is None
        assert application["rejection_reason"] is None
        assert application["rejection_details"] is None
        assert application["last_activity_at"] == AT
        assert application["candidate"]["email_addresses"][0]["value"] == "hpotter@hogwarts.edu"
    unhire = webhooks.unhire_candidate(11, 22, last_activity_at=AT)
    assert unhire["action"] == "unhire_candidate"
    assert unhire["payload"]["application"]["current_stage"]["interviews"][0]["interview_kit"]


def test_hire_is_application_centric_with_the_offer_and_no_status() -> None:
    payload = webhooks.hire_candidate(11, 22, resolved_at=AT)
    assert payload["action"] == "hire_candidate"
    application = payload["payload"]["application"]
    assert set(application) == {
        "id",
        "opening",
        "credited_to",
        "source",
        "url",
        "candidate",
        "job",
        "jobs",
        "custom_fields",
        "offer",
    }
    assert "status" not in application
    assert (application["id"], application["candidate"]["id"]) == (22, 11)
    assert application["offer"]["resolved_at"] == AT
    assert application["offer"]["starts_at"] == "2026-12-26"
    assert application["candidate"]["phone_numbers"][0]["value"] == "123-456-7890"


def test_candidate_anonymized_has_exactly_the_candidate_id_and_fields() -> None:
    payload = webhooks.candidate_anonymized(37031511, webhooks.ANONYMIZED_FIELDS)
    assert payload["action"] == "candidate_anonymized"
    assert set(payload["payload"]) == {"candidate_id", "anonymized_fields"}
    assert payload["payload"]["candidate_id"] == 37031511
    assert "full_name" in payload["payload"]["anonymized_fields"]


def test_delete_and_merge_carry_a_person() -> None:
    deleted = webhooks.delete_candidate(37031511, [46196263, 46196258])
    assert deleted["action"] == "delete_candidate"
    assert deleted["payload"]["person"]["id"] == 37031511
    assert deleted["payload"]["person"]["deleted_application_ids"] == [46196263, 46196258]
    merged = webhooks.merge_candidate(37031511, 457456)
    assert merged["action"] == "merge_candidate"
    assert set(merged["payload"]) == {"person"}
    assert merged["payload"]["person"]["id"] == 37031511
    assert merged["payload"]["person"]["new_candidate_id"] == 457456


def test_ping_is_the_captured_shape() -> None:
    payload = webhooks.ping(9590, "Alooba", "Candidate has been hired", "https://x/webhook")
    assert payload == {
        "payload": {
            "active": True,
            "created_at": "2018-10-19T16:25:57Z",
            "web_hook_id": 9590,
            "name": "Alooba",
            "endpoint_url": "https://x/webhook",
            "content-type": "application/json",
            "updated_at": "2018-10-19T16:25:57Z",
            "event": "Candidate has been hired",
        },
        "action": "ping",
    }


def test_timestamps_are_iso_utc_with_z() -> None:
    local = dt.datetime(2026, 11, 29, 7, 0, tzinfo=dt.timezone(dt.timedelta(hours=11)))
    assert webhooks.iso_utc(local) == AT
    assert webhooks.iso_utc(dt.datetime(2026, 11, 28, 20, 0)) == AT
    payload = webhooks.reject_candidate(1, 2, rejected_at=local)
    assert payload["payload"]["application"]["rejected_at"] == AT


def test_each_call_builds_a_fresh_payload() -> None:
    first = _reject()
    first["payload"]["application"]["jobs"][0]["notes"] = "changed"
    assert _reject()["payload"]["application"]["jobs"][0]["notes"] == "Digital and print"
