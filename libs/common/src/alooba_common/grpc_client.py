"""Client channels: created once per peer, retried on UNAVAILABLE, always with a deadline,
and carrying the caller's request id."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import grpc

from alooba_common.request_context import REQUEST_ID_METADATA_KEY, current_request_id

# Every RPC in this project is idempotent (creates are keyed by the caller), so a
# transport-level retry of UNAVAILABLE never doubles an effect.
_SERVICE_CONFIG = json.dumps(
    {
        # Spread calls over every address the target resolves to (a headless Service's
        # pods in Kubernetes), not one connection per client.
        "loadBalancingConfig": [{"round_robin": {}}],
        "methodConfig": [
            {
                "name": [{}],
                "retryPolicy": {
                    "maxAttempts": 4,
                    "initialBackoff": "0.1s",
                    "maxBackoff": "2s",
                    "backoffMultiplier": 2,
                    "retryableStatusCodes": ["UNAVAILABLE"],
                },
            }
        ],
    }
)


class ClientInterceptor(grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[type-arg]
    """Adds the request id to metadata and a deadline to calls made without one."""

    def __init__(self, default_timeout: float, wait_for_ready: bool) -> None:
        self._default_timeout = default_timeout
        self._wait_for_ready = wait_for_ready

    async def intercept_unary_unary(
        self,
        continuation: Callable[[grpc.aio.ClientCallDetails, Any], Awaitable[Any]],
        client_call_details: grpc.aio.ClientCallDetails,
        request: Any,
    ) -> Any:
        metadata = list(client_call_details.metadata or [])
        request_id = current_request_id()
        if request_id and not any(key == REQUEST_ID_METADATA_KEY for key, _ in metadata):
            metadata.append((REQUEST_ID_METADATA_KEY, request_id))
        details = grpc.aio.ClientCallDetails(
            method=client_call_details.method,
            timeout=(
                client_call_details.timeout
                if client_call_details.timeout is not None
                else self._default_timeout
            ),
            metadata=grpc.aio.Metadata(*metadata),
            credentials=client_call_details.credentials,
            wait_for_ready=(
                client_call_details.wait_for_ready
                if client_call_details.wait_for_ready is not None
                else self._wait_for_ready
            ),
        )
        return await continuation(details, request)


def create_channel(
    target: str, *, default_timeout: float = 5.0, wait_for_ready: bool = False
) -> grpc.aio.Channel:
    """One channel per peer, per process; call inside the running event loop.

    `wait_for_ready`: while the peer is briefly unreachable (a restart, a rolling deploy),
    calls wait for the connection within their deadline instead of failing at once with
    UNAVAILABLE. Right for services calling services; a CLI wants the fast failure.
    """
    return grpc.aio.insecure_channel(
        target,
        options=[
            ("grpc.service_config", _SERVICE_CONFIG),
            ("grpc.enable_retries", 1),
            ("grpc.keepalive_time_ms", 60_000),
            ("grpc.keepalive_timeout_ms", 20_000),
        ],
        interceptors=[ClientInterceptor(default_timeout, wait_for_ready)],  # type: ignore[list-item]
    )
