"""What each benchmark sends: request number i, as the raw bytes of an HTTP/1.1 request.

Built inside the load generator's process from a small JSON description, so that the
(cheap) per-request work of making ids unique and signing webhooks is part of the load
generator, never of the process that orchestrates the run. Bodies are what Greenhouse
sends: send_test as in its docs, webhooks from greenhouse_emulator's builders, signed
with greenhouse_emulator's signing code.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from typing import Any, Final

from greenhouse_emulator import webhooks
from greenhouse_emulator.auth import basic_auth
from greenhouse_emulator.models import Candidate
from greenhouse_emulator.signing import encode_webhook_body, sign

PREFIX: Final = "/v1/greenhouse"
# A callback host that can never resolve (RFC 2606): the benchmark completes no test,
# so no callback is ever due, and none could leave the machine by mistake.
CALLBACK_HOST: Final = "app.greenhouse.invalid"
CALLBACK_ALLOWLIST: Final = "*.greenhouse.invalid"

# Placeholders in the webhook body template, replaced per request (byte-for-byte the
# same length is not needed: Content-Length is computed afterwards).
_CANDIDATE: Final = 987654321987
_APPLICATION: Final = 876543219876
_MOMENT: Final = "2099-12-31T23:59:59Z"


def raw_request(method: str, target: str, headers: Mapping[str, str], body: bytes = b"") -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1"]
    lines.extend(f"{name}: {value}" for name, value in headers.items())
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def candidate(number: int, candidate_base: int, application_base: int) -> Candidate:
    """The candidate of send_test number `number` (ids are unique per number)."""
    return Candidate(
        first_name="Bench",
        last_name=f"Candidate {number}",
        email=f"candidate-{number}@bench.example",
        candidate_id=candidate_base + number,
        application_id=application_base + number,
    )


def send_test_url(number: int) -> str:
    return f"https://{CALLBACK_HOST}/integrations/testing_partners/take_home_tests/{number}"


def request_factory(scenario: Mapping[str, Any]) -> Callable[[int], bytes]:
    kind = scenario["kind"]
    if kind == "bad_webhook":
        return _bad_webhook(scenario)
    auth = {"Authorization": basic_auth(scenario["key"])}
    if kind == "floor":
        return lambda i: raw_request("GET", f"/floor?partner_interview_id=bench{i}", auth)
    if kind == "test_status":
        ids: list[str] = scenario["interview_ids"]
        return lambda i: raw_request(
            "GET", f"{PREFIX}/test_status?partner_interview_id={ids[i % len(ids)]}", auth
        )
    if kind == "send_test":
        return _send_test(scenario, auth)
    if kind == "webhook":
        return _webhook(scenario)
    raise ValueError(f"unknown scenario {kind!r}")


def _send_test(scenario: Mapping[str, Any], auth: dict[str, str]) -> Callable[[int], bytes]:
    offset = int(scenario["offset"])
    candidate_base, application_base = scenario["candidate_base"], scenario["application_base"]
    test_id = scenario["test_id"]
    headers = {**auth, "Content-Type": "application/json"}

    def make(i: int) -> bytes:
        number = offset + i
        body = {
            "partner_test_id": test_id,
            "candidate": candidate(number, candidate_base, application_base).to_send_test(),
            "sent_by": "recruiter@bench.example",
            "url": send_test_url(number),
        }
        return raw_request("POST", f"{PREFIX}/send_test", headers, json.dumps(body).encode("utf-8"))

    return make


def _webhook(scenario: Mapping[str, Any]) -> Callable[[int], bytes]:
    """reject_candidate for the candidates of send_test numbers 0..count-1, in turn, each
    with a later rejected_at than the last and its own Greenhouse-Event-ID."""
    count = int(scenario["count"])
    candidate_base, application_base = scenario["candidate_base"], scenario["application_base"]
    secret, organisation, run = scenario["key"], scenario["organisation"], scenario["run"]
    template = encode_webhook_body(
        webhooks.reject_candidate(_CANDIDATE, _APPLICATION, rejected_at=_MOMENT)
    )
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=1)

    def make(i: int) -> bytes:
        number = i % count
        moment = webhooks.iso_utc(start + dt.timedelta(seconds=i))
        body = (
            template.replace(str(_CANDIDATE).encode(), str(candidate_base + number).encode())
            .replace(str(_APPLICATION).encode(), str(application_base + number).encode())
            .replace(_MOMENT.encode(), moment.encode())
        )
        headers = {
            "Content-Type": "application/json",
            "Greenhouse-Event-ID": f"bench-{run}-{i}",
            "Signature": sign(body, secret),
            "X-Organisation": organisation,
        }
        return raw_request("POST", f"{PREFIX}/webhook", headers, body)

    return make


def _bad_webhook(scenario: Mapping[str, Any]) -> Callable[[int], bytes]:
    """A reject_candidate webhook padded to `body_bytes` (many small JSON objects, what
    costs a parser most), with a well-formed but wrong Signature: an attacker's, sent
    again and again (the same bytes every time; only the event id would differ)."""
    size = int(scenario["body_bytes"])
    document = webhooks.reject_candidate(_CANDIDATE, _APPLICATION, rejected_at=_MOMENT)
    document["payload"]["application"]["padding"] = []
    body = encode_webhook_body(document)
    item = b'{"k":"v","n":1},'
    spare = max(size - len(body), 0)
    body = body.replace(b'"padding":[]', b'"padding":[' + (item * (spare // len(item)))[:-1] + b"]")
    headers = {
        "Content-Type": "application/json",
        "Greenhouse-Event-ID": "flood",
        "Signature": "sha256 " + "0" * 64,
        "X-Organisation": scenario["organisation"],
    }
    raw = raw_request("POST", f"{PREFIX}/webhook", headers, body)
    return lambda i: raw
