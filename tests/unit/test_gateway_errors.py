"""gRPC status → HTTP status, in the gateway's one place for it."""

from __future__ import annotations

import json
from typing import Any

import grpc
import pytest
from aiohttp import web

from gateway import errors
from gateway.errors import GRPC_TO_HTTP, from_grpc

_GENERIC_MESSAGES = {"internal error", *errors._GENERIC_MESSAGES.values()}


def rpc_error(code: grpc.StatusCode, details: str) -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(
        code,
        initial_metadata=grpc.aio.Metadata(),
        trailing_metadata=grpc.aio.Metadata(),
        details=details,
    )


def body_of(response: web.Response) -> Any:
    assert isinstance(response.body, bytes)
    return json.loads(response.body)


@pytest.mark.parametrize(("code", "status"), sorted(GRPC_TO_HTTP.items(), key=lambda i: i[1]))
def test_each_mapped_code_becomes_its_http_status_as_json(
    code: grpc.StatusCode, status: int
) -> None:
    response = from_grpc(rpc_error(code, "detail from the service"))
    assert response.status == status
    assert response.content_type == "application/json"
    body = body_of(response)
    assert isinstance(body["error"], str)
    assert body["error"] != "error"  # every mapped status has a name
    assert isinstance(body["message"], str)
    assert body["message"]


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (grpc.StatusCode.INVALID_ARGUMENT, 422),
        (grpc.StatusCode.OUT_OF_RANGE, 422),
        (grpc.StatusCode.NOT_FOUND, 404),
        (grpc.StatusCode.FAILED_PRECONDITION, 409),
        (grpc.StatusCode.ALREADY_EXISTS, 409),
    ],
)
def test_domain_error_details_are_passed_on(code: grpc.StatusCode, status: int) -> None:
    response = from_grpc(rpc_error(code, "no such test"))
    assert response.status == status
    assert body_of(response)["message"] == "no such test"


def test_unauthenticated_is_401_with_a_basic_challenge() -> None:
    response = from_grpc(rpc_error(grpc.StatusCode.UNAUTHENTICATED, "invalid partner API key"))
    assert response.status == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert body_of(response) == {"error": "unauthorized", "message": "invalid partner API key"}


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (grpc.StatusCode.UNAVAILABLE, 503),
        (grpc.StatusCode.DEADLINE_EXCEEDED, 504),
        (grpc.StatusCode.CANCELLED, 503),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, 429),
        (grpc.StatusCode.PERMISSION_DENIED, 403),
        (grpc.StatusCode.ABORTED, 409),
    ],
)
def test_infrastructure_error_details_are_hidden(code: grpc.StatusCode, status: int) -> None:
    response = from_grpc(rpc_error(code, "connect to 10.0.0.7:50051 failed"))
    assert response.status == status
    assert "10.0.0.7" not in response.text
    assert body_of(response)["message"] in _GENERIC_MESSAGES


@pytest.mark.parametrize(
    "code",
    [grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.DATA_LOSS],
)
def test_unexpected_codes_are_500_with_a_generic_message(code: grpc.StatusCode) -> None:
    response = from_grpc(rpc_error(code, "Traceback: KeyError 'secret'"))
    assert response.status == 500
    assert body_of(response) == {"error": "internal_error", "message": "internal error"}
