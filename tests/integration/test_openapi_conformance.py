"""The gateway answers as services/gateway/openapi.yaml says: schemathesis generates
requests from the spec (valid and invalid, with the real key and without) against the real
system, and every response must be documented, of the documented content type and shape,
and never a 5xx. Bounded and derandomized: the same cases every run."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from integration.helpers import PARTNER, Tenant, call, send_test
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from support.greenhouse import send_test_body
from support.inprocess import System, basic_auth

from greenhouse_emulator.signing import sign

SPEC = Path(__file__).parents[2] / "services" / "gateway" / "openapi.yaml"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
MAX_EXAMPLES = 25


def _run(
    base_url: str,
    mode: GenerationMode,
    headers_for: Callable[[Any], dict[str, str]],
    *,
    signing_key: str | None = None,
    query: dict[str, str] | None = None,
    operations: tuple[str, ...] | None = None,
    seen: Counter[tuple[str, int]],
) -> list[str]:
    """Runs every operation's cases; returns the failures (one per operation at most) and
    counts the (operationId, status) pairs answered in `seen`."""
    schema = schemathesis.openapi.from_path(str(SPEC))
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        operation_id = operation.definition.raw["operationId"]
        if operations is not None and operation_id not in operations:
            continue

        @settings(
            max_examples=MAX_EXAMPLES,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode, query=query))
        def check(case: Any) -> None:
            headers = headers_for(case)
            extra: dict[str, Any] = {}
            if signing_key is not None and case.path.endswith("/webhook"):
                # Sign exactly the bytes sent, as Greenhouse does.
                raw = json.dumps(case.body).encode()
                headers = {**headers, "Signature": sign(raw, signing_key)}
                extra["data"] = raw
            response = case.call_and_validate(
                base_url=base_url, headers=headers, checks=CHECKS, **extra
            )
            seen[case.operation.definition.raw["operationId"], response.status_code] += 1

        try:
            check()
        except Unsatisfiable:
            # Nothing to make invalid (the probes take no input) in negative mode.
            assert mode is GenerationMode.NEGATIVE, operation.label
        except Exception as error:  # collected, to report every operation's failure
            failures.append(f"{operation.label} ({mode.value}): {error}")
    return failures


async def _conformance(
    system: System, tenant: Tenant, interview_id: str, seen: Counter[tuple[str, int]]
) -> list[str]:
    """All variants, in a thread: schemathesis is synchronous and the system under test
    runs on this event loop."""
    authenticated = basic_auth(tenant.key)

    def with_key(case: Any) -> dict[str, str]:
        return authenticated

    def without_key(case: Any) -> dict[str, str]:
        # Whatever schemathesis generated (a random Basic header, or none).
        return {}

    def webhook_headers(case: Any) -> dict[str, str]:
        return {"X-Organisation": tenant.organization.name, "Greenhouse-Event-ID": "evt-1"}

    def run_all() -> list[str]:
        return [
            *_run(system.gateway_url, GenerationMode.POSITIVE, with_key, seen=seen),
            *_run(system.gateway_url, GenerationMode.NEGATIVE, with_key, seen=seen),
            *_run(system.gateway_url, GenerationMode.POSITIVE, without_key, seen=seen),
            *_run(system.gateway_url, GenerationMode.NEGATIVE, without_key, seen=seen),
            # A real interview id: test_status answers 200 with the documented shape.
            *_run(
                system.gateway_url,
                GenerationMode.POSITIVE,
                with_key,
                query={"partner_interview_id": interview_id},
                operations=("test_status",),
                seen=seen,
            ),
            # Correctly signed webhooks of any shape: 200, 400 or 422, never a 5xx.
            *_run(
                system.gateway_url,
                GenerationMode.POSITIVE,
                webhook_headers,
                signing_key=tenant.key,
                operations=("webhook",),
                seen=seen,
            ),
        ]

    return await asyncio.to_thread(run_all)


async def test_the_gateway_conforms_to_its_openapi_description(
    system: System, tenant: Tenant
) -> None:
    sent = await send_test(system, tenant.key, send_test_body(tenant.test.id))
    assert sent.status == 200
    seen: Counter[tuple[str, int]] = Counter()
    started = time.monotonic()
    failures = await _conformance(system, tenant, sent.body["partner_interview_id"], seen)
    elapsed = time.monotonic() - started
    print(f"{sum(seen.values())} requests in {elapsed:.1f} s: {sorted(seen.items())}")
    assert not failures, "\n\n".join(failures)
    # The run reached past the front door: real answers of every kind, not only 401s.
    assert set(seen) >= {
        ("list_tests", 200),
        ("list_tests", 401),
        ("send_test", 401),
        ("send_test", 422),
        ("test_status", 200),
        ("test_status", 404),
        ("response_error", 200),
        ("response_error", 422),
        ("webhook", 200),
        ("webhook", 401),
        ("healthz", 200),
        ("readyz", 200),
    }
    # The budget CI can afford on two cores; more examples belong in a bench run.
    assert elapsed < 60, f"schemathesis took {elapsed:.1f} s"


async def test_a_signed_webhook_nested_beyond_the_json_parser_is_400(
    system: System, tenant: Tenant
) -> None:
    body = b"[" * 100_000
    reply = await call(
        system,
        "POST",
        f"{PARTNER}/webhook",
        headers={
            "X-Organisation": tenant.organization.name,
            "Signature": sign(body, tenant.key),
            "Greenhouse-Event-ID": "evt-deep",
        },
        data=body,
    )
    assert reply.status == 400
    assert reply.body["error"] == "bad_request"


async def test_an_unparseable_profile_url_is_accepted_not_500(
    system: System, tenant: Tenant
) -> None:
    # Item 5b: the invitation is sent; only the Harvest push is skipped.
    body = send_test_body(tenant.test.id)
    body["candidate"]["greenhouse_profile_url"] = "https://[app.greenhouse.io/people/1"
    reply = await send_test(system, tenant.key, body)
    assert reply.status == 200


async def test_a_wrong_key_with_a_malformed_interview_id_is_401(
    system: System, tenant: Tenant
) -> None:
    for query in ("", "?partner_interview_id=" + "x" * 201):
        reply = await call(system, "GET", f"{PARTNER}/test_status{query}", key="agh_wrong")
        assert reply.status == 401, query


async def test_a_wrong_key_with_a_blank_api_call_is_401(system: System, tenant: Tenant) -> None:
    body = {"api_call": "   ", "errors": []}
    wrong = await call(system, "POST", f"{PARTNER}/response_error", key="agh_wrong", json=body)
    assert wrong.status == 401
    right = await call(system, "POST", f"{PARTNER}/response_error", key=tenant.key, json=body)
    assert right.status == 422
