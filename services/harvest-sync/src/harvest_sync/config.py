"""Settings for the harvest-sync service, read once from the environment in main()."""

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
from harvest_sync.app import harvest_contract as contract
from harvest_sync.app import harvest_unconfirmed as unconfirmed

# The push queue's relay, unless OUTBOX_* say otherwise. A push may wait a window or two for
# the rate budget, so a claimed batch is as large as what runs at once and its lease long.
_RELAY_DEFAULTS = {"OUTBOX_BATCH_SIZE": "10", "OUTBOX_LEASE_SECONDS": "300"}


@dataclass(frozen=True, slots=True)
class HarvestSettings:
    # Where Harvest and Greenhouse's OAuth token endpoint live (the emulator in tests).
    base_url: str = "https://harvest.greenhouse.io"
    token_url: str = "https://auth.greenhouse.io/token"  # noqa: S105 - a URL, not a secret
    # Extra CA certificates to trust (tests use the emulator's); the system's always are.
    ca_file: str | None = None
    timeout_seconds: float = 10.0
    # Greenhouse's rate-limit windows (v1: 10 s; v3: 30 s, harvest-v3-facts.md row 39),
    # and the limit assumed until X-RateLimit-Limit says (row 38).
    rate_window_seconds: float = contract.V1_RATE_WINDOW_SECONDS
    v3_rate_window_seconds: float = contract.V3_RATE_WINDOW_SECONDS
    default_rate_limit: int = unconfirmed.DEFAULT_RATE_LIMIT
    # How long one request may wait for a slot of the budget before its push is put back
    # in the queue for later (so that it never outlives its lease waiting).
    budget_wait_seconds: float = 60.0
    # Names the integration user ("<brand> Integration") and the custom fields
    # ("<brand> Score", "<brand> <skill> Score").
    brand: str = "Alooba"
    integration_user_email: str = "greenhouse-integration@alooba.com"
    # While a person still has to act (grant a permission, make the integration user a
    # Site Admin), pushes wait and the connection is checked again this often.
    recheck_seconds: float = 60.0


@dataclass(frozen=True, slots=True)
class Settings:
    server: GrpcServerSettings
    database: DatabaseSettings
    logging: LoggingSettings
    # Base64 of 32 random bytes; encrypts Harvest credentials at rest. Never logged.
    key_encryption_key: str
    harvest: HarvestSettings = field(default_factory=HarvestSettings)
    # Earlier KEKs, which still decrypt (a rotation: docs/operations.md).
    previous_key_encryption_keys: tuple[str, ...] = ()
    relay: RelaySettings = field(default_factory=RelaySettings)
    relay_enabled: bool = True

    def secret_box(self) -> SecretBox:
        return SecretBox.from_base64(self.key_encryption_key, self.previous_key_encryption_keys)

    def __repr__(self) -> str:  # keeps the key-encryption key out of tracebacks and logs
        return f"Settings(server={self.server!r}, harvest={self.harvest!r})"

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        harvest = HarvestSettings(
            base_url=env_str(environ, "HARVEST_BASE_URL", "https://harvest.greenhouse.io"),
            token_url=env_str(environ, "HARVEST_TOKEN_URL", "https://auth.greenhouse.io/token"),
            ca_file=env_optional(environ, "HARVEST_CA_FILE"),
            timeout_seconds=env_float(environ, "HARVEST_TIMEOUT_SECONDS", 10.0),
            rate_window_seconds=env_float(
                environ, "HARVEST_RATE_WINDOW_SECONDS", contract.V1_RATE_WINDOW_SECONDS
            ),
            v3_rate_window_seconds=env_float(
                environ, "HARVEST_V3_RATE_WINDOW_SECONDS", contract.V3_RATE_WINDOW_SECONDS
            ),
            budget_wait_seconds=env_float(environ, "HARVEST_BUDGET_WAIT_SECONDS", 60.0),
            default_rate_limit=env_int(
                environ, "HARVEST_DEFAULT_RATE_LIMIT", unconfirmed.DEFAULT_RATE_LIMIT
            ),
            brand=env_str(environ, "HARVEST_BRAND", "Alooba"),
            integration_user_email=env_str(
                environ, "HARVEST_INTEGRATION_USER_EMAIL", "greenhouse-integration@alooba.com"
            ),
            recheck_seconds=env_float(environ, "HARVEST_RECHECK_SECONDS", 60.0),
        )
        if (
            harvest.default_rate_limit < 1
            or harvest.rate_window_seconds <= 0
            or harvest.v3_rate_window_seconds <= 0
            or harvest.budget_wait_seconds <= 0
        ):
            raise ConfigError(
                "HARVEST_DEFAULT_RATE_LIMIT, HARVEST_RATE_WINDOW_SECONDS, "
                "HARVEST_V3_RATE_WINDOW_SECONDS and HARVEST_BUDGET_WAIT_SECONDS must be > 0"
            )
        return cls(
            server=GrpcServerSettings.from_env(environ),
            database=DatabaseSettings.from_env(environ, "sqlite:///var/harvest-sync.db"),
            logging=LoggingSettings.from_env(environ),
            key_encryption_key=env_str(environ, "KEY_ENCRYPTION_KEY"),
            previous_key_encryption_keys=env_list(environ, "KEY_ENCRYPTION_KEYS_PREVIOUS", ()),
            harvest=harvest,
            relay=RelaySettings.from_env({**_RELAY_DEFAULTS, **environ}),
            relay_enabled=env_bool(environ, "OUTBOX_RELAY_ENABLED", True),
        )
