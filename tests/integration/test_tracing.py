"""OpenTelemetry tracing through the real gateway and services (in this process, spans
recorded in memory): one trace per Greenhouse call across every gRPC hop and the outbox,
its id on the log lines; and, with tracing off, nothing traced, carried or logged."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

import pytest
from integration.helpers import new_tenant, send_test
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from support.greenhouse import send_test_body
from support.inprocess import System, running_system
from support.sql import dump_text

from alooba_common.tracing import TRACE_CONTEXT_KEY, instrument
from assessments.store.states import EMAIL_KIND

SEND_TEST = "/alooba.assessments.v1.PartnerService/SendTest"
REGISTER = "/alooba.candidates.v1.CandidatesService/RegisterApplication"


@pytest.fixture(scope="session")
def spans() -> InMemorySpanExporter:
    """The process's tracer provider (set once per process, as in a service): every span
    ended from now on is kept in memory."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return exporter


@pytest.fixture
def tracing_on(spans: InMemorySpanExporter) -> Iterator[InMemorySpanExporter]:
    """Tracing installed as start_tracing installs it, for this test only."""
    installed = instrument(trace.get_tracer_provider())
    spans.clear()
    yield spans
    installed.stop()


@pytest.fixture
async def traced_system(
    tracing_on: InMemorySpanExporter, shared_databases: dict[str, str]
) -> AsyncIterator[System]:
    async with running_system(shared_databases) as running:
        yield running


@pytest.fixture
def own_databases(new_databases: Callable[[], dict[str, str]]) -> dict[str, str]:
    """Databases no traced test has written to."""
    return new_databases()


@pytest.fixture
async def untraced_system(
    spans: InMemorySpanExporter, own_databases: dict[str, str]
) -> AsyncIterator[System]:
    # A recording provider is in place, so any span anything started would be seen.
    spans.clear()
    async with running_system(own_databases) as running:
        yield running


async def wait_for_spans(
    exporter: InMemorySpanExporter,
    found: Callable[[Sequence[ReadableSpan]], bool],
    within: float = 10.0,
) -> Sequence[ReadableSpan]:
    deadline = time.monotonic() + within
    while True:
        finished = exporter.get_finished_spans()
        if found(finished) or time.monotonic() > deadline:
            return finished
        await asyncio.sleep(0.05)


def one(spans: Sequence[ReadableSpan], name: str, kind: trace.SpanKind) -> ReadableSpan:
    matching = [span for span in spans if span.name == name and span.kind == kind]
    assert len(matching) == 1, [(span.name, span.kind) for span in spans]
    return matching[0]


def parent_of(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


async def logged_send_test(
    system: System, capsys: pytest.CaptureFixture[str]
) -> list[dict[str, Any]]:
    """A send_test for an organization of its own; the log lines of its request (its
    request id), from every service."""
    tenant = await new_tenant(system)
    capsys.readouterr()
    reply = await send_test(system, tenant.key, send_test_body(tenant.test.id))
    assert reply.status == 200
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line[:1] == "{"]
    return [r for r in records if r.get("request_id") == reply.headers["X-Request-ID"]]


async def test_a_send_test_is_one_trace_from_the_gateway_through_assessments_to_candidates(
    traced_system: System, tracing_on: InMemorySpanExporter
) -> None:
    tenant = await new_tenant(traced_system)
    tracing_on.clear()
    reply = await send_test(traced_system, tenant.key, send_test_body(tenant.test.id))
    assert reply.status == 200

    def complete(spans: Sequence[ReadableSpan]) -> bool:
        return any(s.kind == trace.SpanKind.SERVER and s.name.endswith("send_test") for s in spans)

    spans = await wait_for_spans(tracing_on, complete)
    http = one(spans, "POST /v1/greenhouse/send_test", trace.SpanKind.SERVER)
    in_trace = [s for s in spans if s.context.trace_id == http.context.trace_id]
    to_assessments = one(in_trace, SEND_TEST, trace.SpanKind.CLIENT)
    at_assessments = one(in_trace, SEND_TEST, trace.SpanKind.SERVER)
    to_candidates = one(in_trace, REGISTER, trace.SpanKind.CLIENT)
    at_candidates = one(in_trace, REGISTER, trace.SpanKind.SERVER)
    # Each hop is the child of the one before: the context crossed the wire each time.
    assert parent_of(to_assessments) == http.context.span_id
    assert parent_of(at_assessments) == to_assessments.context.span_id
    assert parent_of(to_candidates) == at_assessments.context.span_id
    assert parent_of(at_candidates) == to_candidates.context.span_id


async def test_every_log_line_of_the_request_carries_its_trace_id(
    traced_system: System, tracing_on: InMemorySpanExporter, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = await logged_send_test(traced_system, capsys)
    spans = await wait_for_spans(
        tracing_on, lambda spans: any(s.name == "POST /v1/greenhouse/send_test" for s in spans)
    )
    http = one(spans, "POST /v1/greenhouse/send_test", trace.SpanKind.SERVER)
    trace_id = trace.format_trace_id(http.context.trace_id)

    handled = {r.get("grpc_service") for r in lines if r["event"] == "rpc.handled"}
    assert {"alooba.assessments.v1.PartnerService", "alooba.candidates.v1.CandidatesService"} <= (
        handled
    )
    assert any(r["event"] == "http.request" for r in lines)
    assert {r.get("trace_id") for r in lines} == {trace_id}
    span_ids = {trace.format_span_id(s.context.span_id) for s in spans}
    assert {r["span_id"] for r in lines} <= span_ids


async def test_the_invitation_email_continues_the_trace_of_its_send_test(
    traced_system: System, tracing_on: InMemorySpanExporter
) -> None:
    tenant = await new_tenant(traced_system)
    tracing_on.clear()
    await send_test(traced_system, tenant.key, send_test_body(tenant.test.id))

    def delivered(spans: Sequence[ReadableSpan]) -> bool:
        # The batch's span ends after the deliveries it holds.
        return any(s.name == f"{EMAIL_KIND} process batch" for s in spans)

    spans = await wait_for_spans(tracing_on, delivered)
    at_assessments = one(spans, SEND_TEST, trace.SpanKind.SERVER)
    delivery = one(spans, f"{EMAIL_KIND} process", trace.SpanKind.CONSUMER)
    assert delivery.context.trace_id == at_assessments.context.trace_id
    assert parent_of(delivery) == at_assessments.context.span_id
    # The batch's one call for the candidates' contact details is traced under the
    # batch's span, which links to this send_test's trace (messaging conventions).
    [batch] = [s for s in spans if s.name == f"{EMAIL_KIND} process batch"]
    assert at_assessments.context.trace_id in {link.context.trace_id for link in batch.links}
    calls = [s for s in spans if parent_of(s) == batch.context.span_id]
    assert [s.name for s in calls if s.kind == trace.SpanKind.CLIENT] == [
        "/alooba.candidates.v1.CandidatesService/BatchGetContacts"
    ]


async def test_with_tracing_off_nothing_is_traced_carried_or_logged(
    untraced_system: System, spans: InMemorySpanExporter, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = await logged_send_test(untraced_system, capsys)
    assert any(r["event"] == "rpc.handled" for r in lines)
    assert not [r for r in lines if "trace_id" in r or "span_id" in r]
    assert TRACE_CONTEXT_KEY not in await dump_text(untraced_system.databases["assessments"])
    assert spans.get_finished_spans() == ()
