"""Reading settings from the environment, strictly: a bad value fails at start-up, loudly."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


class ConfigError(ValueError):
    """A required setting is missing or malformed."""


def env_str(environ: Mapping[str, str], name: str, default: str | None = None) -> str:
    value = environ.get(name, "").strip()
    if value:
        return value
    if default is None:
        raise ConfigError(f"{name} must be set")
    return default


def env_optional(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name, "").strip()
    return value or None


def env_int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None


def env_float(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None


def env_bool(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def env_list(environ: Mapping[str, str], name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    return tuple(item.strip() for item in raw.split(",") if item.strip())


@dataclass(frozen=True, slots=True)
class LoggingSettings:
    level: str = "info"
    # "json" in production; "console" for a person at a terminal.
    format: str = "json"

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> LoggingSettings:
        fmt = env_str(environ, "LOG_FORMAT", "json")
        if fmt not in {"json", "console"}:
            raise ConfigError(f"LOG_FORMAT must be json or console, got {fmt!r}")
        return cls(level=env_str(environ, "LOG_LEVEL", "info").lower(), format=fmt)


# cert-manager's names for the files of a certificate's Secret; the dev certificates under
# var/tls/<identity>/ use them too.
CERT_FILE = "tls.crt"
KEY_FILE = "tls.key"
CA_FILE = "ca.crt"


@dataclass(frozen=True, slots=True)
class TlsSettings:
    """Where a process's certificate, its key and the CA certificates it trusts are
    (alooba_common.tls loads them)."""

    cert_file: Path
    key_file: Path
    ca_file: Path

    @classmethod
    def in_directory(cls, directory: Path | str, ca_file: Path | str | None = None) -> TlsSettings:
        """`tls.crt`, `tls.key` and `ca.crt` in `directory`; `ca_file` replaces the latter
        (say, a bundle of the old and the new CA while the CA is rotated)."""
        folder = Path(directory)
        return cls(
            cert_file=folder / CERT_FILE,
            key_file=folder / KEY_FILE,
            ca_file=Path(ca_file) if ca_file else folder / CA_FILE,
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> TlsSettings:
        """TLS_DIR (required) and TLS_CA_FILE (optional). Whether the files are there is
        checked when they are loaded, as the process starts serving or calling."""
        directory = env_optional(environ, "TLS_DIR")
        if directory is None:
            raise ConfigError(
                "TLS_DIR must be set: the folder holding this process's certificate "
                f"({CERT_FILE}, {KEY_FILE}) and the CA it trusts ({CA_FILE}); "
                "there is no plaintext mode"
            )
        return cls.in_directory(directory, env_optional(environ, "TLS_CA_FILE"))


@dataclass(frozen=True, slots=True)
class GrpcServerSettings:
    """What every gRPC service needs to serve, drain and stop."""

    # The service's certificate and the CA its callers' certificates must come from.
    tls: TlsSettings
    host: str = "[::]"
    port: int = 50051
    # Plaintext, serving grpc.health.v1 only: for the kubelet's probes, which cannot
    # present a client certificate.
    health_port: int = 50050
    metrics_host: str = "0.0.0.0"
    metrics_port: int = 9090
    # After SIGTERM readiness turns NOT_SERVING at once; new RPCs are still taken for
    # this long so load balancers can take the pod out of rotation first.
    drain_seconds: float = 0.0
    # How long in-flight RPCs may take to finish once the server stops taking new ones.
    shutdown_grace_seconds: float = 20.0
    # How often readiness re-checks the database.
    health_check_interval_seconds: float = 2.0
    # Reflection shows the whole API (for grpcurl); operators only, and off unless asked.
    reflection: bool = False
    max_concurrent_rpcs: int | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> GrpcServerSettings:
        max_rpcs = env_int(environ, "GRPC_MAX_CONCURRENT_RPCS", 0)
        return cls(
            tls=TlsSettings.from_env(environ),
            host=env_str(environ, "GRPC_HOST", "[::]"),
            port=env_int(environ, "GRPC_PORT", 50051),
            health_port=env_int(environ, "HEALTH_PORT", 50050),
            metrics_host=env_str(environ, "METRICS_HOST", "0.0.0.0"),
            metrics_port=env_int(environ, "METRICS_PORT", 9090),
            drain_seconds=env_float(environ, "DRAIN_SECONDS", 0.0),
            shutdown_grace_seconds=env_float(environ, "SHUTDOWN_GRACE_SECONDS", 20.0),
            health_check_interval_seconds=env_float(environ, "HEALTH_CHECK_INTERVAL_SECONDS", 2.0),
            reflection=env_bool(environ, "GRPC_REFLECTION", False),
            max_concurrent_rpcs=max_rpcs or None,
        )


@dataclass(frozen=True, slots=True)
class DatabaseSettings:
    url: str
    pool_size: int = 10
    max_overflow: int = 10
    pool_timeout_seconds: float = 10.0
    # Statements longer than this are cancelled (PostgreSQL only).
    statement_timeout_ms: int = 10_000

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str], default_url: str | None = None
    ) -> DatabaseSettings:
        return cls(
            url=env_str(environ, "DATABASE_URL", default_url),
            pool_size=env_int(environ, "DB_POOL_SIZE", 10),
            max_overflow=env_int(environ, "DB_MAX_OVERFLOW", 10),
            pool_timeout_seconds=env_float(environ, "DB_POOL_TIMEOUT_SECONDS", 10.0),
            statement_timeout_ms=env_int(environ, "DB_STATEMENT_TIMEOUT_MS", 10_000),
        )
