"""Settings for the assessments service, read once from the environment in main()."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from alooba_common.config import (
    DatabaseSettings,
    GrpcServerSettings,
    LoggingSettings,
    env_float,
    env_int,
    env_list,
    env_str,
)


@dataclass(frozen=True, slots=True)
class Settings:
    server: GrpcServerSettings
    database: DatabaseSettings
    logging: LoggingSettings
    # Base64 of 32 random bytes; encrypts partner keys at rest. Never logged.
    key_encryption_key: str
    candidates_addr: str
    # Deadline for calls to other services.
    rpc_timeout_seconds: float = 5.0
    # Greenhouse callback URLs must be https and on one of these hosts ("*." = any
    # subdomain). Nothing outside the list is ever stored or called.
    callback_host_allowlist: tuple[str, ...] = ("*.greenhouse.io",)
    default_expiry_days: int = 7
    # How long a rotated-out partner key keeps working.
    key_rotation_grace_seconds: int = 7 * 24 * 3600

    def __repr__(self) -> str:  # keeps the key-encryption key out of tracebacks and logs
        return f"Settings(server={self.server!r}, candidates_addr={self.candidates_addr!r})"

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        return cls(
            server=GrpcServerSettings.from_env(environ),
            database=DatabaseSettings.from_env(environ, "sqlite:///var/assessments.db"),
            logging=LoggingSettings.from_env(environ),
            key_encryption_key=env_str(environ, "KEY_ENCRYPTION_KEY"),
            candidates_addr=env_str(environ, "CANDIDATES_ADDR", "localhost:50052"),
            rpc_timeout_seconds=env_float(environ, "RPC_TIMEOUT_SECONDS", 5.0),
            callback_host_allowlist=env_list(
                environ, "CALLBACK_HOST_ALLOWLIST", ("*.greenhouse.io",)
            ),
            default_expiry_days=env_int(environ, "DEFAULT_EXPIRY_DAYS", 7),
            key_rotation_grace_seconds=env_int(
                environ, "KEY_ROTATION_GRACE_SECONDS", 7 * 24 * 3600
            ),
        )
