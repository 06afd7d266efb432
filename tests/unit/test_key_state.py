"""A partner API key's state, from its revocation and expiry times."""

from __future__ import annotations

import datetime as dt

from assessments.app.keys import KeyState, accepts, generate_secret, key_state
from assessments.store.models import ApiKey

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def api_key(
    *, expires_at: dt.datetime | None = None, revoked_at: dt.datetime | None = None
) -> ApiKey:
    return ApiKey(id="k", organization_id="o", expires_at=expires_at, revoked_at=revoked_at)


def test_key_without_expiry_or_revocation_is_active() -> None:
    assert key_state(api_key(), NOW) is KeyState.ACTIVE
    assert accepts(api_key(), NOW)


def test_key_expiring_in_the_future_is_retiring_and_still_accepted() -> None:
    key = api_key(expires_at=NOW + dt.timedelta(seconds=1))
    assert key_state(key, NOW) is KeyState.RETIRING
    assert accepts(key, NOW)


def test_key_past_its_expiry_is_expired_and_refused() -> None:
    key = api_key(expires_at=NOW - dt.timedelta(seconds=1))
    assert key_state(key, NOW) is KeyState.EXPIRED
    assert not accepts(key, NOW)


def test_key_at_its_exact_expiry_is_expired() -> None:
    assert key_state(api_key(expires_at=NOW), NOW) is KeyState.EXPIRED


def test_revoked_key_is_revoked_whatever_its_expiry() -> None:
    revoked = NOW - dt.timedelta(hours=1)
    for expires_at in (None, NOW + dt.timedelta(days=1), NOW - dt.timedelta(days=1)):
        key = api_key(expires_at=expires_at, revoked_at=revoked)
        assert key_state(key, NOW) is KeyState.REVOKED
        assert not accepts(key, NOW)


def test_generated_secrets_are_unique_and_shorter_than_greenhouse_limit() -> None:
    secrets = {generate_secret() for _ in range(100)}
    assert len(secrets) == 100
    assert all(len(secret) < 171 for secret in secrets)
