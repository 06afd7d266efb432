"""A domain error's answer keeps nothing of the call alive: the abort is raised outside the
except clause, so it carries no __context__ (the error, its traceback, and the frames
holding the request's data, such as a refused webhook's body). Before, every badly signed
1 MiB webhook stayed in assessments until the cyclic garbage collector ran."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from prometheus_client import CollectorRegistry

from alooba_common.errors import Unauthenticated
from alooba_common.grpc_metrics import GrpcServerMetrics
from alooba_common.grpc_server import ServerInterceptor


class AbortError(Exception):
    """Named as grpc.aio's own, which the interceptor recognises by name."""


class Context:
    def __init__(self) -> None:
        self.aborted: tuple[grpc.StatusCode, str] | None = None

    async def abort(self, code: grpc.StatusCode, details: str) -> None:
        self.aborted = (code, details)
        raise AbortError(details)

    def code(self) -> grpc.StatusCode | None:
        return self.aborted[0] if self.aborted else None


class Body(bytearray):
    """A request's large field; weakly referenceable, so the test can see it go."""


@pytest.fixture
def no_cyclic_gc() -> Iterator[None]:
    gc.collect()
    gc.disable()
    yield
    gc.enable()


@pytest.mark.usefixtures("no_cyclic_gc")
async def test_a_refused_call_leaves_its_request_data_to_be_freed_at_once() -> None:
    seen: list[weakref.ref[Body]] = []

    async def verify(request: Any, context: Any) -> Any:
        body = Body(1024 * 1024)
        seen.append(weakref.ref(body))
        raise Unauthenticated("invalid webhook signature")

    interceptor = ServerInterceptor(GrpcServerMetrics.create(CollectorRegistry()))
    handler = interceptor._wrap(verify, "alooba.assessments.v1.WebhookService", "Verify", "r1")
    context = Context()
    with pytest.raises(AbortError) as raised:
        await handler(None, context)

    assert context.aborted == (grpc.StatusCode.UNAUTHENTICATED, "invalid webhook signature")
    assert raised.value.__context__ is None
    assert seen[0]() is None  # freed by reference counting alone, no collection ran
