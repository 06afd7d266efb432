"""structlog set-up: one JSON object per line, request-scoped context, no secrets or PII.

Standard-library loggers (grpc, sqlalchemy, aiohttp, alembic) are routed through the
same processors so every line a process writes has the same shape.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from alooba_common.config import LoggingSettings
from alooba_common.tracing import add_trace_ids

# Keys that must never reach a log line with their value. Logging any of them is a bug;
# this processor is the safety net that keeps the bug from leaking data.
SENSITIVE_KEYS = frozenset(
    {
        "api_key",
        "authorization",
        "email",
        "first_name",
        "last_name",
        "name_of_candidate",
        "password",
        "phone",
        "phone_number",
        "preferred_name",
        "partner_key",
        "resume_url",
        "secret",
        "token",
    }
)


def _redact_sensitive(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in SENSITIVE_KEYS.intersection(event_dict):
        event_dict[key] = "[redacted]"
    return event_dict


def _shared_processors(service: str) -> list[structlog.types.Processor]:
    def add_service(
        _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        event_dict.setdefault("service", service)
        return event_dict

    return [
        structlog.contextvars.merge_contextvars,
        add_trace_ids,
        add_service,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _redact_sensitive,
    ]


def _rendering(settings: LoggingSettings) -> list[structlog.types.Processor]:
    # Structured tracebacks WITHOUT frame locals: locals hold requests, and so PII.
    tracebacks = structlog.processors.ExceptionRenderer(
        structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
    )
    renderer: structlog.types.Processor
    if settings.format == "console":
        renderer = structlog.dev.ConsoleRenderer(colors=False)
    else:
        renderer = structlog.processors.JSONRenderer()
    return [tracebacks, renderer]


def log_processors(settings: LoggingSettings, *, service: str) -> list[structlog.types.Processor]:
    """The processor chain a service logs through: for processes that host services
    without owning their stdout (the in-process tests), which configure structlog with it."""
    return [*_shared_processors(service), *_rendering(settings)]


def configure_logging(settings: LoggingSettings, *, service: str) -> None:
    """Configures structlog and the standard library for this process. Call once, first."""
    level = logging.getLevelNamesMapping().get(settings.level.upper(), logging.INFO)
    shared = _shared_processors(service)
    tracebacks, renderer = _rendering(settings)
    structlog.configure(
        processors=[
            *shared,
            tracebacks,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
        cache_logger_on_first_use=True,
    )

    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                tracebacks,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # These libraries are chatty at INFO and say nothing an operator acts on.
    for noisy in ("aiohttp.access", "sqlalchemy.engine", "alembic.runtime.migration"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
