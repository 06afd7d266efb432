"""The request id that follows one Greenhouse call through every service it touches.

The gateway takes it from `X-Request-ID` (or makes one), the gRPC client interceptor
sends it as `x-request-id` metadata, and the server interceptor binds it for logging.
"""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

REQUEST_ID_METADATA_KEY = "x-request-id"
REQUEST_ID_HEADER = "X-Request-ID"

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
# Incoming ids are echoed into logs and headers, so only a safe, short shape is accepted.
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def new_request_id() -> str:
    return uuid.uuid4().hex


def accept_request_id(candidate: str | None) -> str:
    """The caller's id if it is safe to echo, else a fresh one."""
    if candidate and _SAFE_REQUEST_ID.fullmatch(candidate):
        return candidate
    return new_request_id()


def current_request_id() -> str | None:
    return _request_id.get()


def set_request_id(request_id: str) -> None:
    _request_id.set(request_id)
