"""HTTP errors with JSON bodies, and the one place gRPC status becomes HTTP status."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import grpc
from aiohttp import web

# Greenhouse's contract names 401 and 404; the rest follow google.rpc.Code's mapping,
# except that a request that is well-formed JSON but semantically wrong is 422.
GRPC_TO_HTTP: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.INVALID_ARGUMENT: 422,
    grpc.StatusCode.OUT_OF_RANGE: 422,
    grpc.StatusCode.FAILED_PRECONDITION: 409,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.CANCELLED: 503,
}

# Details of these codes come from our own services' domain errors and are safe to
# show; anything else (INTERNAL, UNKNOWN, ...) is hidden behind a generic message.
_PUBLIC_DETAILS = frozenset(
    {
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.OUT_OF_RANGE,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.ALREADY_EXISTS,
        grpc.StatusCode.UNAUTHENTICATED,
    }
)

_GENERIC_MESSAGES = {
    403: "not allowed",
    409: "the request conflicts with a concurrent change; retry",
    429: "too many requests; retry later",
    503: "a backend service is unavailable; retry later",
    504: "a backend service did not answer in time; retry later",
}

_ERROR_NAMES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "unprocessable_entity",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
    504: "timeout",
}


def error_response(
    status: int,
    message: str,
    *,
    details: Sequence[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    body: dict[str, Any] = {"error": _ERROR_NAMES.get(status, "error"), "message": message}
    if details:
        body["details"] = list(details)
    return web.json_response(body, status=status, headers=headers)


def unauthorized(message: str = "a valid partner API key is required") -> web.Response:
    # Basic with the key as username and an empty password, as Greenhouse sends it.
    return error_response(401, message, headers={"WWW-Authenticate": 'Basic realm="greenhouse"'})


def from_grpc(error: grpc.aio.AioRpcError) -> web.Response:
    code = error.code()
    status = GRPC_TO_HTTP.get(code, 500)
    if status == 401:
        return unauthorized(error.details() or "invalid partner API key")
    if code in _PUBLIC_DETAILS:
        message = error.details() or code.name.lower()
    else:
        message = _GENERIC_MESSAGES.get(status, "internal error")
    return error_response(status, message)


class RequestError(Exception):
    """Raised by handlers for a bad request; the error middleware renders it."""

    def __init__(
        self,
        status: int,
        message: str,
        details: Sequence[dict[str, Any]] | None = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details
        self.headers = headers

    def response(self) -> web.Response:
        if self.status == 401:
            return unauthorized(self.message)
        return error_response(self.status, self.message, details=self.details, headers=self.headers)
