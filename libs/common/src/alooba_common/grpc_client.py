"""Client channels: created once per peer, over mutual TLS, retried on UNAVAILABLE, always
with a deadline, and carrying the caller's request id."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import structlog

from alooba_common.request_context import REQUEST_ID_METADATA_KEY, current_request_id
from alooba_common.tls import CertificateFiles, TlsMaterial, channel_credentials

log = structlog.get_logger("alooba.grpc")

# How often a channel looks at its certificate files for a renewal; cert-manager renews
# weeks before expiry, so a minute is plenty.
RENEWAL_CHECK_SECONDS = 60.0
# How long calls still running on a renewed channel's old connections may take.
_RETIRE_GRACE_SECONDS = 30.0

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
    target: str,
    *,
    tls: CertificateFiles,
    default_timeout: float = 5.0,
    wait_for_ready: bool = False,
    renewal_check_seconds: float = RENEWAL_CHECK_SECONDS,
) -> grpc.aio.Channel:
    """One channel per peer, per process; call inside the running event loop.

    Mutual TLS with the certificate in `tls`; the peer must present a certificate from
    the trusted CA for the host name in `target` (the dev and cert-manager certificates
    carry their service's names, so none is overridden). A renewed certificate is
    presented from the next call after the files change (within
    `renewal_check_seconds`).

    `wait_for_ready`: while the peer is briefly unreachable (a restart, a rolling deploy),
    calls wait for the connection within their deadline instead of failing at once with
    UNAVAILABLE. Right for services calling services; a CLI wants the fast failure.
    """
    interceptor = ClientInterceptor(default_timeout, wait_for_ready)

    def open_channel(material: TlsMaterial) -> grpc.aio.Channel:
        return grpc.aio.secure_channel(
            target,
            channel_credentials(material),
            options=[
                ("grpc.service_config", _SERVICE_CONFIG),
                ("grpc.enable_retries", 1),
                ("grpc.keepalive_time_ms", 60_000),
                ("grpc.keepalive_timeout_ms", 20_000),
            ],
            interceptors=[interceptor],  # type: ignore[list-item]
        )

    return RenewingChannel(tls, open_channel, renewal_check_seconds)


class RenewingChannel(grpc.aio.Channel):
    """A channel that always presents the current certificate.

    grpc fixes a client's certificate when the channel is made, so this holds one channel
    per certificate: when the files change (cert-manager renewed them), the calls from
    then on go over a new channel, and the old one is closed once its calls have finished
    (within _RETIRE_GRACE_SECONDS). No call fails for it. Unary calls follow renewals;
    every RPC of ours is unary, and streams stay on the channel they started on.
    """

    def __init__(
        self,
        files: CertificateFiles,
        open_channel: Callable[[TlsMaterial], grpc.aio.Channel],
        check_seconds: float,
    ) -> None:
        self._files = files
        self._open = open_channel
        self._check_seconds = check_seconds
        self._material = files.latest()
        self._channel = open_channel(self._material)
        self._next_check = time.monotonic() + check_seconds
        self._retiring: set[asyncio.Task[None]] = set()

    def current(self) -> grpc.aio.Channel:
        """The channel for a call starting now (renewed first, when the files changed)."""
        now = time.monotonic()
        if now < self._next_check:
            return self._channel
        self._next_check = now + self._check_seconds
        material = self._files.latest()
        if material is not self._material:
            old = self._channel
            self._material, self._channel = material, self._open(material)
            retiring = asyncio.get_running_loop().create_task(old.close(_RETIRE_GRACE_SECONDS))
            self._retiring.add(retiring)
            retiring.add_done_callback(self._retiring.discard)
            log.info("tls.client_certificate_renewed", identity=material.spiffe_id)
        return self._channel

    def unary_unary(
        self,
        method: str,
        request_serializer: Callable[[Any], bytes] | None = None,
        response_deserializer: Callable[[bytes], Any] | None = None,
        _registered_method: bool | None = False,
    ) -> Any:
        return _RenewingUnaryUnary(
            self, method, request_serializer, response_deserializer, _registered_method
        )

    def unary_stream(self, *args: Any, **kwargs: Any) -> Any:
        return self.current().unary_stream(*args, **kwargs)

    def stream_unary(self, *args: Any, **kwargs: Any) -> Any:
        return self.current().stream_unary(*args, **kwargs)

    def stream_stream(self, *args: Any, **kwargs: Any) -> Any:
        return self.current().stream_stream(*args, **kwargs)

    def get_state(self, try_to_connect: bool = False) -> grpc.ChannelConnectivity:
        return self._channel.get_state(try_to_connect)

    async def wait_for_state_change(self, last_observed_state: grpc.ChannelConnectivity) -> None:
        await self._channel.wait_for_state_change(last_observed_state)

    async def channel_ready(self) -> None:
        await self._channel.channel_ready()

    async def close(self, grace: float | None = None) -> None:
        await self._channel.close(grace)
        if self._retiring:
            await asyncio.gather(*self._retiring, return_exceptions=True)

    async def __aenter__(self) -> RenewingChannel:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close(None)


class _RenewingUnaryUnary:
    """A stub's method: each call goes over the channel's current connection."""

    def __init__(
        self,
        owner: RenewingChannel,
        method: str,
        request_serializer: Callable[[Any], bytes] | None,
        response_deserializer: Callable[[bytes], Any] | None,
        registered_method: bool | None,
    ) -> None:
        self._owner = owner
        self._method = method
        self._request_serializer = request_serializer
        self._response_deserializer = response_deserializer
        self._registered_method = registered_method
        self._bound: grpc.aio.Channel | None = None
        self._callable: Any = None

    def __call__(self, request: Any, **options: Any) -> Any:
        channel = self._owner.current()
        if channel is not self._bound:
            self._bound = channel
            self._callable = channel.unary_unary(
                self._method,
                self._request_serializer,
                self._response_deserializer,
                _registered_method=self._registered_method,  # type: ignore[call-arg]
            )
        return self._callable(request, **options)
