"""Settings for the gateway, read once from the environment in main()."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from alooba_common.config import (
    ConfigError,
    LoggingSettings,
    TlsSettings,
    env_float,
    env_int,
    env_str,
)


@dataclass(frozen=True, slots=True)
class Settings:
    logging: LoggingSettings
    # The gateway's certificate (spiffe://alooba/gateway), presented to every backend.
    tls: TlsSettings
    host: str = "0.0.0.0"
    port: int = 8080
    metrics_host: str = "0.0.0.0"
    metrics_port: int = 9090
    assessments_addr: str = "localhost:50051"
    candidates_addr: str = "localhost:50052"
    # Deadline of every gRPC call the gateway makes.
    rpc_timeout_seconds: float = 5.0
    # Greenhouse's bodies are small; webhooks with full application payloads are the
    # largest. Anything bigger is refused with 413 before it is read.
    max_body_bytes: int = 1024 * 1024
    # After SIGTERM /readyz answers 503 at once; requests are still served this long
    # so the load balancer can stop sending new ones first.
    drain_seconds: float = 0.0
    shutdown_grace_seconds: float = 20.0
    # Failed authentications (partner keys, webhook signatures) allowed per client address
    # and per key prefix (webhooks: per organization) within the sliding window; beyond
    # them a failure is answered 429, never a valid key. 0 turns a limit off.
    auth_throttle_window_seconds: float = 60.0
    auth_throttle_address_limit: int = 50
    auth_throttle_prefix_limit: int = 10
    # Reverse proxies in front of the gateway that append to X-Forwarded-For (the ingress
    # controller: 1). 0 trusts no header and uses the peer address.
    trusted_proxy_hops: int = 0
    # Webhooks whose signature has not been checked yet (gateway.webhook_gate): how many
    # are read and checked at once, and how many one client address may have waiting
    # (beyond that it is answered 503 before its body is read).
    webhook_verify_concurrency: int = 2
    webhook_verify_queue_per_address: int = 64
    # While an address's failed authentications are answered 429, its unverified
    # webhooks are checked at most this many per second (the rest wait their turn).
    webhook_throttled_verify_rate: float = 10.0

    def __post_init__(self) -> None:
        if self.auth_throttle_window_seconds <= 0:
            raise ConfigError("AUTH_THROTTLE_WINDOW_SECONDS must be positive")
        for name, value in (
            ("AUTH_THROTTLE_ADDRESS_LIMIT", self.auth_throttle_address_limit),
            ("AUTH_THROTTLE_PREFIX_LIMIT", self.auth_throttle_prefix_limit),
            ("TRUSTED_PROXY_HOPS", self.trusted_proxy_hops),
        ):
            if value < 0:
                raise ConfigError(f"{name} must not be negative")
        for name, value in (
            ("WEBHOOK_VERIFY_CONCURRENCY", self.webhook_verify_concurrency),
            ("WEBHOOK_VERIFY_QUEUE_PER_ADDRESS", self.webhook_verify_queue_per_address),
        ):
            if value < 1:
                raise ConfigError(f"{name} must be at least 1")
        if self.webhook_throttled_verify_rate <= 0:
            raise ConfigError("WEBHOOK_THROTTLED_VERIFY_RATE must be positive")

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        return cls(
            logging=LoggingSettings.from_env(environ),
            tls=TlsSettings.from_env(environ),
            host=env_str(environ, "HTTP_HOST", "0.0.0.0"),
            port=env_int(environ, "HTTP_PORT", 8080),
            metrics_host=env_str(environ, "METRICS_HOST", "0.0.0.0"),
            metrics_port=env_int(environ, "METRICS_PORT", 9090),
            assessments_addr=env_str(environ, "ASSESSMENTS_ADDR", "localhost:50051"),
            candidates_addr=env_str(environ, "CANDIDATES_ADDR", "localhost:50052"),
            rpc_timeout_seconds=env_float(environ, "RPC_TIMEOUT_SECONDS", 5.0),
            max_body_bytes=env_int(environ, "MAX_BODY_BYTES", 1024 * 1024),
            drain_seconds=env_float(environ, "DRAIN_SECONDS", 0.0),
            shutdown_grace_seconds=env_float(environ, "SHUTDOWN_GRACE_SECONDS", 20.0),
            auth_throttle_window_seconds=env_float(environ, "AUTH_THROTTLE_WINDOW_SECONDS", 60.0),
            auth_throttle_address_limit=env_int(environ, "AUTH_THROTTLE_ADDRESS_LIMIT", 50),
            auth_throttle_prefix_limit=env_int(environ, "AUTH_THROTTLE_PREFIX_LIMIT", 10),
            trusted_proxy_hops=env_int(environ, "TRUSTED_PROXY_HOPS", 0),
            webhook_verify_concurrency=env_int(environ, "WEBHOOK_VERIFY_CONCURRENCY", 2),
            webhook_verify_queue_per_address=env_int(
                environ, "WEBHOOK_VERIFY_QUEUE_PER_ADDRESS", 64
            ),
            webhook_throttled_verify_rate=env_float(environ, "WEBHOOK_THROTTLED_VERIFY_RATE", 10.0),
        )
