"""Settings for the gateway, read once from the environment in main()."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from alooba_common.config import LoggingSettings, env_float, env_int, env_str


@dataclass(frozen=True, slots=True)
class Settings:
    logging: LoggingSettings
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

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        return cls(
            logging=LoggingSettings.from_env(environ),
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
        )
