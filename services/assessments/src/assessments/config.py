"""Settings for the assessments service, read once from the environment in main()."""

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
from assessments.app.keys import MAX_ROTATION_GRACE_SECONDS

# The console's address in the embedded default (`make run`).
DEFAULT_CONSOLE_URL = "http://localhost:8000"


@dataclass(frozen=True, slots=True)
class Settings:
    server: GrpcServerSettings
    database: DatabaseSettings
    logging: LoggingSettings
    # Base64 of 32 random bytes; encrypts partner keys at rest. Never logged.
    key_encryption_key: str
    candidates_addr: str
    # Earlier KEKs, which still decrypt (a rotation: docs/operations.md), and the key of
    # the lookup hashes (partner keys, access tokens), which is not a KEK.
    previous_key_encryption_keys: tuple[str, ...] = ()
    lookup_hash_key: str | None = None
    # harvest-sync, which writes final scores into Greenhouse custom fields.
    harvest_sync_addr: str = "localhost:50053"
    # Deadline for calls to other services.
    rpc_timeout_seconds: float = 5.0
    # Greenhouse callback URLs must be https and on one of these hosts ("*." = any
    # subdomain). Nothing outside the list is ever stored or called.
    callback_host_allowlist: tuple[str, ...] = ("*.greenhouse.io",)
    default_expiry_days: int = 7
    # How long a rotated-out partner key keeps working.
    key_rotation_grace_seconds: int = 7 * 24 * 3600
    # Where candidates take a test (the token is appended) and where a result's report
    # lives (the invitation id is appended; Greenhouse's "View Report" link): the
    # console's /reports page unless REPORT_BASE_URL says otherwise.
    assessment_link_base_url: str = "http://localhost:3000/take"
    report_base_url: str = "http://localhost:8000/reports"
    # smtp://user:password@host:587?starttls=on|off|auto, or smtps://host:465. Unset:
    # emails are written as .eml files to mail_dir (the embedded default).
    smtp_url: str | None = None
    # Lets SMTP_URL send credentials to a remote server without TLS (never by default).
    smtp_allow_plaintext_auth: bool = False
    mail_dir: str = "var/mail"
    mail_from: str = "Alooba Assessments <assessments@alooba.localhost>"
    # The domain part of the stable Message-IDs.
    mail_domain: str = "alooba.localhost"
    smtp_timeout_seconds: float = 20.0
    # The Greenhouse callback PATCH: its timeout, and extra CA certificates to trust
    # (tests use the emulator's); the system's CAs are always trusted.
    callback_timeout_seconds: float = 10.0
    callback_ca_file: str | None = None
    # One reminder this long before the deadline; 0 turns reminders off.
    reminder_before_expiry_seconds: int = 24 * 3600
    sweep_interval_seconds: float = 30.0
    relay: RelaySettings = field(default_factory=RelaySettings)
    relay_enabled: bool = True

    def __post_init__(self) -> None:
        if self.previous_key_encryption_keys and not self.lookup_hash_key:
            raise ConfigError(
                "KEY_ENCRYPTION_KEYS_PREVIOUS is set but LOOKUP_HASH_KEY is not: pin the "
                "lookup-hash key first (`python -m assessments lookup-hash-key`), or every "
                "partner key stops authenticating (docs/operations.md)"
            )
        if not 0 < self.key_rotation_grace_seconds <= MAX_ROTATION_GRACE_SECONDS:
            raise ConfigError(
                "KEY_ROTATION_GRACE_SECONDS must be more than 0 and at most "
                f"{MAX_ROTATION_GRACE_SECONDS} (30 days)"
            )

    def secret_box(self) -> SecretBox:
        return SecretBox.from_base64(
            self.key_encryption_key,
            self.previous_key_encryption_keys,
            lookup_hash_key=self.lookup_hash_key,
        )

    def __repr__(self) -> str:  # keeps the key-encryption key out of tracebacks and logs
        return f"Settings(server={self.server!r}, candidates_addr={self.candidates_addr!r})"

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        return cls(
            server=GrpcServerSettings.from_env(environ),
            database=DatabaseSettings.from_env(environ, "sqlite:///var/assessments.db"),
            logging=LoggingSettings.from_env(environ),
            key_encryption_key=env_str(environ, "KEY_ENCRYPTION_KEY"),
            previous_key_encryption_keys=env_list(environ, "KEY_ENCRYPTION_KEYS_PREVIOUS", ()),
            lookup_hash_key=env_optional(environ, "LOOKUP_HASH_KEY"),
            candidates_addr=env_str(environ, "CANDIDATES_ADDR", "localhost:50052"),
            harvest_sync_addr=env_str(environ, "HARVEST_SYNC_ADDR", "localhost:50053"),
            rpc_timeout_seconds=env_float(environ, "RPC_TIMEOUT_SECONDS", 5.0),
            callback_host_allowlist=env_list(
                environ, "CALLBACK_HOST_ALLOWLIST", ("*.greenhouse.io",)
            ),
            default_expiry_days=env_int(environ, "DEFAULT_EXPIRY_DAYS", 7),
            key_rotation_grace_seconds=env_int(
                environ, "KEY_ROTATION_GRACE_SECONDS", 7 * 24 * 3600
            ),
            assessment_link_base_url=env_str(
                environ, "ASSESSMENT_LINK_BASE_URL", "http://localhost:3000/take"
            ),
            report_base_url=env_str(
                environ,
                "REPORT_BASE_URL",
                env_str(environ, "CONSOLE_URL", DEFAULT_CONSOLE_URL).rstrip("/") + "/reports",
            ),
            smtp_url=env_optional(environ, "SMTP_URL"),
            smtp_allow_plaintext_auth=env_bool(environ, "SMTP_ALLOW_PLAINTEXT_AUTH", False),
            mail_dir=env_str(environ, "MAIL_DIR", "var/mail"),
            mail_from=env_str(
                environ, "MAIL_FROM", "Alooba Assessments <assessments@alooba.localhost>"
            ),
            mail_domain=env_str(environ, "MAIL_DOMAIN", "alooba.localhost"),
            smtp_timeout_seconds=env_float(environ, "SMTP_TIMEOUT_SECONDS", 20.0),
            callback_timeout_seconds=env_float(environ, "CALLBACK_TIMEOUT_SECONDS", 10.0),
            callback_ca_file=env_optional(environ, "CALLBACK_CA_FILE"),
            reminder_before_expiry_seconds=env_int(
                environ, "REMINDER_BEFORE_EXPIRY_SECONDS", 24 * 3600
            ),
            sweep_interval_seconds=env_float(environ, "SWEEP_INTERVAL_SECONDS", 30.0),
            relay=RelaySettings.from_env(environ),
            relay_enabled=env_bool(environ, "OUTBOX_RELAY_ENABLED", True),
        )
