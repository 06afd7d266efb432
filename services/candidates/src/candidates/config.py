"""Settings for the candidates service, read once from the environment in main()."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from alooba_common.config import (
    DatabaseSettings,
    GrpcServerSettings,
    LoggingSettings,
    env_bool,
    env_float,
    env_str,
)
from alooba_common.outbox import RelaySettings


@dataclass(frozen=True, slots=True)
class Settings:
    server: GrpcServerSettings
    database: DatabaseSettings
    logging: LoggingSettings
    # assessments, which cancels an erased candidate's invitations (the outbox's only
    # receiver; candidates calls nothing else).
    assessments_addr: str = "localhost:50051"
    # Deadline for that call.
    rpc_timeout_seconds: float = 5.0
    relay: RelaySettings = field(default_factory=RelaySettings)
    relay_enabled: bool = True

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        return cls(
            server=GrpcServerSettings.from_env(environ),
            database=DatabaseSettings.from_env(environ, "sqlite:///var/candidates.db"),
            logging=LoggingSettings.from_env(environ),
            assessments_addr=env_str(environ, "ASSESSMENTS_ADDR", "localhost:50051"),
            rpc_timeout_seconds=env_float(environ, "RPC_TIMEOUT_SECONDS", 5.0),
            relay=RelaySettings.from_env(environ),
            relay_enabled=env_bool(environ, "OUTBOX_RELAY_ENABLED", True),
        )
