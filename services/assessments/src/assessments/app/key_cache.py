"""Recently verified partner keys, kept in memory for a few seconds.

Every partner call and every webhook checks a key. Without this, each check costs two
or three SQL statements (and, for webhooks, decrypting every key of the organization),
which was most of test_status's CPU. An entry lives at most `ttl_seconds` and never
past its key's own expiry (a rotation's grace period); revoking or rotating a key in
this process forgets the organization's entries at once. Another replica may accept a
revoked key for up to `ttl_seconds` more: the price of not asking the database every
time, kept to a few seconds.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from alooba_common.db import utcnow

DEFAULT_TTL_SECONDS = 5.0
# Bounded, so a flood of distinct keys cannot grow it without limit (only keys that
# verified are stored, so that takes valid keys; the bound is a backstop).
MAX_ENTRIES = 10_000


@dataclass(frozen=True, slots=True)
class _Entry:
    organization_id: str
    valid_until: float


@dataclass(frozen=True, slots=True)
class WebhookSecrets:
    # Empty (and no secrets) for an organization name that is not known.
    organization_id: str
    secrets: Sequence[str]
    valid_until: float

    @property
    def known(self) -> bool:
        return bool(self.organization_id)


class KeyCache:
    def __init__(
        self,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl_seconds
        self._clock = clock
        self._partner: dict[str, _Entry] = {}
        self._webhook: dict[str, WebhookSecrets] = {}

    def _valid_until(self, expires_at: Sequence[dt.datetime | None]) -> float:
        now = self._clock()
        until = now + self._ttl
        wall = utcnow()
        for moment in expires_at:
            if moment is not None:
                until = min(until, now + (moment - wall).total_seconds())
        return until

    # --- partner API keys (by lookup hash) -----------------------------------------------

    def organization_for(self, lookup_hash: str) -> str | None:
        entry = self._partner.get(lookup_hash)
        if entry is None:
            return None
        if entry.valid_until <= self._clock():
            self._partner.pop(lookup_hash, None)
            return None
        return entry.organization_id

    def remember(
        self, lookup_hash: str, organization_id: str, expires_at: dt.datetime | None
    ) -> None:
        if self._ttl <= 0:
            return
        if len(self._partner) >= MAX_ENTRIES:
            self._partner.clear()
        self._partner[lookup_hash] = _Entry(organization_id, self._valid_until([expires_at]))

    # --- webhook secrets (by organization name) -------------------------------------------
    # An unknown name is remembered too (an entry without an organization id or secrets),
    # for as long as a known one: otherwise it costs a database query every time while a
    # known one costs a look-up here, and the difference tells which organizations exist.

    def webhook_secrets(self, organization_name: str) -> WebhookSecrets | None:
        entry = self._webhook.get(organization_name)
        if entry is None:
            return None
        if entry.valid_until <= self._clock():
            self._webhook.pop(organization_name, None)
            return None
        return entry

    def remember_webhook_secrets(
        self,
        organization_name: str,
        organization_id: str,
        secrets: Sequence[str],
        expires_at: Sequence[dt.datetime | None],
    ) -> None:
        if self._ttl <= 0:
            return
        if len(self._webhook) >= MAX_ENTRIES:
            self._webhook.clear()
        self._webhook[organization_name] = WebhookSecrets(
            organization_id, tuple(secrets), self._valid_until(expires_at)
        )

    def remember_unknown_organization(self, organization_name: str) -> None:
        self.remember_webhook_secrets(organization_name, "", (), ())

    # --- invalidation -------------------------------------------------------------------

    def forget_organization_name(self, organization_name: str) -> None:
        """An organization of that name was just created: no longer unknown."""
        self._webhook.pop(organization_name, None)

    def forget_organization(self, organization_id: str) -> None:
        """A key of this organization was revoked or rotated: check it again next time."""
        self._partner = {
            key: entry
            for key, entry in self._partner.items()
            if entry.organization_id != organization_id
        }
        self._webhook = {
            name: entry
            for name, entry in self._webhook.items()
            if entry.organization_id != organization_id
        }
