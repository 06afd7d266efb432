"""Settings for the console, read once from the environment in main()."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from alooba_common.config import (
    ConfigError,
    DatabaseSettings,
    GrpcServerSettings,
    LoggingSettings,
    env_bool,
    env_float,
    env_int,
    env_list,
    env_optional,
    env_str,
)
from alooba_common.outbox import RelaySettings
from alooba_common.secrets import SecretBox


@dataclass(frozen=True, slots=True)
class Settings:
    # The gRPC face (UserService for operators, OutboxService), metrics, drain and grace.
    server: GrpcServerSettings
    database: DatabaseSettings
    logging: LoggingSettings
    # Base64 of 32 random bytes: encrypts the invitation and reset links queued for
    # emailing, and keys the hashes they are looked up by. Never logged.
    key_encryption_key: str
    # A key rotation (docs/operations.md): earlier KEKs, which still decrypt queued links,
    # and the lookup-hash key pinned so that links already sent keep working.
    previous_key_encryption_keys: tuple[str, ...] = ()
    lookup_hash_key: str | None = None
    http_host: str = "0.0.0.0"
    http_port: int = 8080
    # Where people reach the console (links in emails), and where Greenhouse reaches the
    # gateway (the webhook Endpoint URL the Greenhouse page shows).
    public_url: str = "http://localhost:8000"
    gateway_public_url: str = "https://<gateway>"
    assessments_addr: str = "localhost:50051"
    harvest_sync_addr: str = "localhost:50053"
    rpc_timeout_seconds: float = 10.0
    # Cookies only over HTTPS. Off only for plain-HTTP development on loopback.
    cookie_secure: bool = True
    # A session ends after this long without a request, and after max_age in any case.
    session_idle_seconds: int = 8 * 3600
    session_max_age_seconds: int = 7 * 24 * 3600
    # Failed sign-ins allowed per e-mail address and per client address within the
    # window; past them the form answers 429 without looking at the password.
    login_window_seconds: int = 15 * 60
    login_limit_per_email: int = 5
    login_limit_per_address: int = 50
    # Reverse proxies in front of the console that append to X-Forwarded-For.
    trusted_proxy_hops: int = 0
    invitation_days: int = 7
    reset_minutes: int = 60
    smtp_url: str | None = None
    mail_dir: str = "var/mail"
    mail_from: str = "Alooba <no-reply@alooba.localhost>"
    mail_domain: str = "alooba.localhost"
    smtp_timeout_seconds: float = 20.0
    relay: RelaySettings = field(default_factory=RelaySettings)
    shutdown_grace_seconds: float = 20.0

    def __repr__(self) -> str:  # keeps the key-encryption key out of tracebacks and logs
        return f"Settings(http_port={self.http_port!r}, public_url={self.public_url!r})"

    def __post_init__(self) -> None:
        for name, value in (
            ("LOGIN_LIMIT_PER_EMAIL", self.login_limit_per_email),
            ("LOGIN_LIMIT_PER_ADDRESS", self.login_limit_per_address),
            ("SESSION_IDLE_SECONDS", self.session_idle_seconds),
        ):
            if value < 1:
                raise ConfigError(f"{name} must be at least 1")

    def secret_box(self) -> SecretBox:
        return SecretBox.from_base64(
            self.key_encryption_key,
            self.previous_key_encryption_keys,
            lookup_hash_key=self.lookup_hash_key,
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        return cls(
            server=GrpcServerSettings.from_env(environ),
            database=DatabaseSettings.from_env(environ, "sqlite:///var/console.db"),
            logging=LoggingSettings.from_env(environ),
            key_encryption_key=env_str(environ, "KEY_ENCRYPTION_KEY"),
            previous_key_encryption_keys=env_list(environ, "KEY_ENCRYPTION_KEYS_PREVIOUS", ()),
            lookup_hash_key=env_optional(environ, "LOOKUP_HASH_KEY"),
            http_host=env_str(environ, "HTTP_HOST", "0.0.0.0"),
            http_port=env_int(environ, "HTTP_PORT", 8080),
            public_url=env_str(environ, "CONSOLE_URL", "http://localhost:8000").rstrip("/"),
            gateway_public_url=env_str(environ, "GATEWAY_PUBLIC_URL", "https://<gateway>").rstrip(
                "/"
            ),
            assessments_addr=env_str(environ, "ASSESSMENTS_ADDR", "localhost:50051"),
            harvest_sync_addr=env_str(environ, "HARVEST_SYNC_ADDR", "localhost:50053"),
            rpc_timeout_seconds=env_float(environ, "RPC_TIMEOUT_SECONDS", 10.0),
            cookie_secure=env_bool(environ, "COOKIE_SECURE", True),
            session_idle_seconds=env_int(environ, "SESSION_IDLE_SECONDS", 8 * 3600),
            session_max_age_seconds=env_int(environ, "SESSION_MAX_AGE_SECONDS", 7 * 24 * 3600),
            login_window_seconds=env_int(environ, "LOGIN_WINDOW_SECONDS", 15 * 60),
            login_limit_per_email=env_int(environ, "LOGIN_LIMIT_PER_EMAIL", 5),
            login_limit_per_address=env_int(environ, "LOGIN_LIMIT_PER_ADDRESS", 50),
            trusted_proxy_hops=env_int(environ, "TRUSTED_PROXY_HOPS", 0),
            invitation_days=env_int(environ, "INVITATION_DAYS", 7),
            reset_minutes=env_int(environ, "RESET_MINUTES", 60),
            smtp_url=env_optional(environ, "SMTP_URL"),
            mail_dir=env_str(environ, "MAIL_DIR", "var/mail"),
            mail_from=env_str(environ, "MAIL_FROM", "Alooba <no-reply@alooba.localhost>"),
            mail_domain=env_str(environ, "MAIL_DOMAIN", "alooba.localhost"),
            smtp_timeout_seconds=env_float(environ, "SMTP_TIMEOUT_SECONDS", 20.0),
            relay=RelaySettings.from_env(environ),
            shutdown_grace_seconds=env_float(environ, "SHUTDOWN_GRACE_SECONDS", 20.0),
        )
