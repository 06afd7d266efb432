"""OpenTelemetry tracing: off unless configured; when on, one trace per Greenhouse call from
the gateway through every service it reaches, and the trace id in every log line.

Configured with OpenTelemetry's own environment variables (docs/operations.md lists them):
`OTEL_TRACES_EXPORTER` (`otlp`, `console`, `none`), or unset and an OTLP endpoint
(`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) given; neither, or
`OTEL_SDK_DISABLED=true`, and tracing is off. The SDK reads the rest itself (service name
and resource attributes, sampler, batching, the exporter's endpoint, headers, certificates).

When on, `start_tracing` installs the OpenTelemetry instrumentations for grpc.aio (servers
and channels, health checks left out), aiohttp's server (probes left out) and aiohttp's
client sessions, for everything the process creates from then on; W3C trace context
crosses each gRPC hop in metadata and each outbox message in its payload.

When off, nothing is installed and OpenTelemetry is not even imported: a log line and an
outbox message each pay one dictionary lookup (is `opentelemetry.trace` loaded?), and find
it is not.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import warnings
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from alooba_common.config import ConfigError, env_bool, env_list, env_optional

if TYPE_CHECKING:
    from types import ModuleType

    from opentelemetry.instrumentation.instrumentor import (  # type: ignore[attr-defined]
        BaseInstrumentor,
    )
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import TracerProvider as AnyTracerProvider

EXPORTERS = ("otlp", "console")
# The key an outbox message's payload carries its trace context under.
TRACE_CONTEXT_KEY = "trace_context"
# The gateway's probes: kubelet traffic every few seconds, never part of a request's story.
_PROBE_PATHS = "/healthz,/readyz"


@dataclass(frozen=True, slots=True)
class TracingSettings:
    # Where spans go: a subset of EXPORTERS; empty when tracing is off.
    exporters: tuple[str, ...] = ()

    @property
    def enabled(self) -> bool:
        return bool(self.exporters)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> TracingSettings:
        if env_bool(environ, "OTEL_SDK_DISABLED", False):
            return cls()
        named = env_list(environ, "OTEL_TRACES_EXPORTER", ())
        if not named:
            endpoint = env_optional(environ, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or (
                env_optional(environ, "OTEL_EXPORTER_OTLP_ENDPOINT")
            )
            named = ("otlp",) if endpoint else ()
        exporters = tuple(name for name in named if name != "none")
        unknown = sorted(set(exporters) - set(EXPORTERS))
        if unknown:
            raise ConfigError(
                f"OTEL_TRACES_EXPORTER: {', '.join(unknown)} not available "
                f"(one or more of {', '.join(EXPORTERS)}, or none)"
            )
        if "otlp" in exporters:
            for name in ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"):
                protocol = env_optional(environ, name)
                if protocol not in (None, "grpc"):
                    raise ConfigError(f"{name}: only grpc is available, got {protocol!r}")
                if protocol:
                    break
        return cls(exporters=exporters)


@dataclass
class Tracing:
    """What `start_tracing` (or `instrument`) installed, to take it out again."""

    instrumentors: list[BaseInstrumentor] = field(default_factory=list)
    provider: TracerProvider | None = None  # owned here: shut down (flushed) by stop()

    def stop(self) -> None:
        for instrumentor in reversed(self.instrumentors):
            instrumentor.uninstrument()
        if self.provider is not None:
            self.provider.shutdown()


def start_tracing(settings: TracingSettings, *, service: str) -> Tracing | None:
    """Sets the process's tracer provider, exporting as `settings` says, and instruments
    gRPC and aiohttp with it. Call once, in main(), before any server or channel is made.
    None (and nothing done) when tracing is off. The SDK flushes the spans at exit."""
    if not settings.enabled:
        return None
    from opentelemetry import trace
    from opentelemetry.sdk.resources import SERVICE_NAME, OTELResourceDetector, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    # Our name for the service unless OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES say another.
    resource = Resource.create({SERVICE_NAME: service}).merge(OTELResourceDetector().detect())
    provider = TracerProvider(resource=resource)  # sampler and limits: OTEL_TRACES_SAMPLER...
    for name in settings.exporters:
        provider.add_span_processor(BatchSpanProcessor(_exporter(name)))
    trace.set_tracer_provider(provider)
    return instrument(provider)


def _exporter(name: str) -> Any:
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter(service_name=None)
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()  # endpoint, headers, TLS: OTEL_EXPORTER_OTLP_*


def instrument(provider: AnyTracerProvider) -> Tracing:
    """Instruments grpc.aio servers and channels, and, where aiohttp is installed, its
    server applications and client sessions, all made from now on, to trace with
    `provider` (start_tracing's; tests pass their own)."""
    from opentelemetry.instrumentation.grpc import (
        GrpcAioInstrumentorClient,
        GrpcAioInstrumentorServer,
        filters,
    )

    not_health = filters.negate(filters.health_check())
    instrumentors: list[BaseInstrumentor] = [
        GrpcAioInstrumentorServer(filter_=not_health),  # type: ignore[no-untyped-call]
        GrpcAioInstrumentorClient(filter_=not_health),  # type: ignore[no-untyped-call]
    ]
    if importlib.util.find_spec("aiohttp") is not None:
        from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor
        from opentelemetry.instrumentation.aiohttp_server import AioHttpServerInstrumentor

        # Read by the instrumentation when it is installed; an operator's value wins.
        os.environ.setdefault("OTEL_PYTHON_AIOHTTP_SERVER_EXCLUDED_URLS", _PROBE_PATHS)
        instrumentors += [AioHttpServerInstrumentor(), AioHttpClientInstrumentor()]
    with warnings.catch_warnings():
        # The aiohttp server instrumentation subclasses web.Application, which aiohttp
        # discourages with a DeprecationWarning; the subclass only adds a middleware.
        warnings.simplefilter("ignore", DeprecationWarning)
        for instrumentor in instrumentors:
            instrumentor.instrument(tracer_provider=provider)
    return Tracing(instrumentors=instrumentors)


def _loaded_trace_api() -> ModuleType | None:
    """OpenTelemetry's trace API if this process has loaded it. Only start_tracing (or a
    test) loads it; without it no span can exist, so there is nothing to look up."""
    return sys.modules.get("opentelemetry.trace")


def add_trace_ids(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: the current span's trace and span ids, as the OTLP backends
    show them (hex), on every line logged inside a span."""
    api = _loaded_trace_api()
    if api is None:
        return event_dict
    context = api.get_current_span().get_span_context()
    if context.is_valid:
        event_dict["trace_id"] = api.format_trace_id(context.trace_id)
        event_dict["span_id"] = api.format_span_id(context.span_id)
    return event_dict


def with_trace_context(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    """An outbox message's payload, carrying the current trace context (W3C traceparent)
    when there is one, so its delivery continues the trace of the change that made it."""
    api = _loaded_trace_api()
    if api is None or not api.get_current_span().get_span_context().is_valid:
        return payload
    from opentelemetry import propagate

    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return {**payload, TRACE_CONTEXT_KEY: carrier}


@contextmanager
def continued_trace(payload: Mapping[str, Any], kind: str, message_id: str) -> Iterator[None]:
    """Around an outbox message's delivery attempt: a span in the trace its payload carries
    (none when it carries none), current while the handler runs and its outcome is
    recorded, so the handler's calls and the outcome's log line join the trace."""
    carrier = payload.get(TRACE_CONTEXT_KEY)
    if not isinstance(carrier, dict):
        yield
        return
    from opentelemetry import propagate, trace

    tracer = trace.get_tracer(__name__)
    with tracer.start_as_current_span(
        f"{kind} process",
        context=propagate.extract(carrier),
        kind=trace.SpanKind.CONSUMER,
        attributes={
            "messaging.system": "alooba.outbox",
            "messaging.operation.type": "process",
            "messaging.destination.name": kind,
            "messaging.message.id": message_id,
        },
    ):
        yield


@contextmanager
def batch_trace(payloads: Sequence[Mapping[str, Any]], kind: str) -> Iterator[None]:
    """Around the work a batch handler does once for several messages (one call fetching
    all their contacts, say): a span linked to each message's trace, as OpenTelemetry's
    messaging conventions model a batch; none when no message carries a trace."""
    carriers = [c for c in (p.get(TRACE_CONTEXT_KEY) for p in payloads) if isinstance(c, dict)]
    if not carriers:
        yield
        return
    from opentelemetry import propagate, trace

    links = []
    for carrier in carriers:
        context = trace.get_current_span(propagate.extract(carrier)).get_span_context()
        if context.is_valid:
            links.append(trace.Link(context))
    tracer = trace.get_tracer(__name__)
    with tracer.start_as_current_span(
        f"{kind} process batch",
        context=trace.set_span_in_context(trace.INVALID_SPAN),
        kind=trace.SpanKind.CONSUMER,
        links=links,
        attributes={
            "messaging.system": "alooba.outbox",
            "messaging.operation.type": "process",
            "messaging.destination.name": kind,
            "messaging.batch.message_count": len(payloads),
        },
    ):
        yield


def mark_error(description: str) -> None:
    """Marks the current span (an outbox delivery's, say) as failed, when there is one."""
    api = _loaded_trace_api()
    if api is None:
        return
    from opentelemetry.trace import Status, StatusCode

    api.get_current_span().set_status(Status(StatusCode.ERROR, description[:500]))
