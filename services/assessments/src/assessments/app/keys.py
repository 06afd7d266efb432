"""Partner API keys: their format and their states."""

from __future__ import annotations

import datetime as dt
import enum
import secrets

from assessments.store.models import ApiKey

# Greenhouse requires keys shorter than 171 characters; ours are 47.
KEY_PREFIX = "agh_"
PREFIX_LENGTH = 12
# A rotated-out key keeps working at most this long: enough to switch Greenhouse and
# every webhook over, not so long that a forgotten old key lives on.
MAX_ROTATION_GRACE_SECONDS = 30 * 24 * 3600


class KeyState(enum.Enum):
    ACTIVE = "active"
    RETIRING = "retiring"
    EXPIRED = "expired"
    REVOKED = "revoked"


def generate_secret() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def display_prefix(secret: str) -> str:
    return secret[:PREFIX_LENGTH]


def key_state(key: ApiKey, now: dt.datetime) -> KeyState:
    if key.revoked_at is not None:
        return KeyState.REVOKED
    if key.expires_at is None:
        return KeyState.ACTIVE
    return KeyState.RETIRING if key.expires_at > now else KeyState.EXPIRED


def accepts(key: ApiKey, now: dt.datetime) -> bool:
    return key_state(key, now) in (KeyState.ACTIVE, KeyState.RETIRING)
