"""Tracing as an operator turns it on: the real processes, given only OpenTelemetry's
environment variables, export their spans over OTLP (gRPC) to a collector, here one played
by this test; a send_test is one trace across the gateway, assessments and candidates,
each under its own service name, and the trace id is on the request's log lines."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import grpc
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as otlp
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc as otlp_grpc
from opentelemetry.proto.trace.v1 import trace_pb2
from support.greenhouse import send_test_body
from support.inprocess import basic_auth
from support.processes import cli, json_log_records

from alooba_dev.stack import Stack

pytestmark = pytest.mark.e2e

TRACED = ("gateway", "assessments", "candidates")


class Collector(otlp_grpc.TraceServiceServicer):
    """An OTLP trace receiver: keeps every span with its resource's service.name."""

    def __init__(self) -> None:
        self.spans: list[tuple[str, trace_pb2.Span]] = []

    async def Export(
        self, request: otlp.ExportTraceServiceRequest, context: Any
    ) -> otlp.ExportTraceServiceResponse:
        for resource_spans in request.resource_spans:
            attributes = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                self.spans += [(attributes["service.name"], s) for s in scope_spans.spans]
        return otlp.ExportTraceServiceResponse()


@pytest.fixture
async def collector() -> AsyncIterator[tuple[Collector, int]]:
    received = Collector()
    server = grpc.aio.server()
    otlp_grpc.add_TraceServiceServicer_to_server(received, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield received, port
    await server.stop(None)


async def test_a_send_test_is_exported_as_one_trace_across_the_real_services(
    collector: tuple[Collector, int], make_stack: Callable[..., Stack]
) -> None:
    received, port = collector
    stack = await asyncio.to_thread(
        make_stack,
        extra_env={
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}",
            "OTEL_BSP_SCHEDULE_DELAY": "100",  # milliseconds: export soon after the call
        },
    )
    name = f"Traced {uuid.uuid4().hex[:8]}"
    await asyncio.to_thread(cli, stack, "org", "create", name)
    key = (await asyncio.to_thread(cli, stack, "key", "issue", "--org", name))["secret"]
    test = await asyncio.to_thread(
        cli, stack, "test", "create", "--org", name, "--name", "Data Analyst"
    )
    test_id = test.get("test", test)["id"]

    async with (
        aiohttp.ClientSession(headers=basic_auth(key)) as http,
        http.post(
            f"{stack.gateway_url}/v1/greenhouse/send_test", json=send_test_body(test_id)
        ) as response,
    ):
        assert response.status == 200
        request_id = response.headers["X-Request-ID"]

    def services_in_the_trace() -> tuple[bytes | None, dict[str, set[int]]]:
        """The send_test's trace id and, per service, the kinds of its spans in it."""
        roots = [
            s.trace_id
            for service, s in received.spans
            if service == "gateway" and s.name == "POST /v1/greenhouse/send_test"
        ]
        kinds: dict[str, set[int]] = defaultdict(set)
        for service, span in received.spans:
            if roots and span.trace_id == roots[0]:
                kinds[service].add(span.kind)
        return (roots[0] if roots else None), kinds

    deadline = time.monotonic() + 30
    trace_id, kinds = services_in_the_trace()
    while set(kinds) < set(TRACED) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        trace_id, kinds = services_in_the_trace()
    assert trace_id is not None
    server = trace_pb2.Span.SPAN_KIND_SERVER
    assert {service for service, span_kinds in kinds.items() if server in span_kinds} >= set(TRACED)

    for service in TRACED:
        lines = [r for r in json_log_records(stack, service) if r.get("request_id") == request_id]
        assert lines, service
        assert {r.get("trace_id") for r in lines} == {trace_id.hex()}, service
