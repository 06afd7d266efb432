"""Tables of the harvest-sync database: each organization's Harvest connection, the custom
fields found or created for it, and the push queue (a transactional outbox). No column
holds candidate PII: pushes carry a Greenhouse application id and scores only."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, Float, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from alooba_common.db import EnumText, UtcDateTime, new_metadata, utcnow
from alooba_common.outbox import outbox_table
from harvest_sync.store.credentials import HarvestMode


class Base(DeclarativeBase):
    metadata = new_metadata()
    type_annotation_map = {dt.datetime: UtcDateTime()}


class Connection(Base):
    """One organization's Harvest connection, as last checked against Greenhouse."""

    __tablename__ = "harvest_connection"

    organization_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    mode: Mapped[HarvestMode] = mapped_column(EnumText(HarvestMode, 8))
    # The API key (v1) or the OAuth client id and secret (v3), as JSON, encrypted with the
    # key-encryption key and bound to the organization. Never logged, never returned.
    encrypted_credential: Mapped[str] = mapped_column(Text)
    integration_user_email: Mapped[str] = mapped_column(String(320))
    integration_user_id: Mapped[int | None] = mapped_column(BigInteger)
    integration_user_site_admin: Mapped[bool] = mapped_column(default=False)
    integration_user_created: Mapped[bool] = mapped_column(default=False)
    # The Site Admin the integration user is created on behalf of (0/None: find one).
    acting_user_id: Mapped[int | None] = mapped_column(BigInteger)
    # v1: endpoint permission labels; v3: scopes.
    missing_permissions: Mapped[list[str]] = mapped_column(JSON, default=list)
    # v3: the missing scopes were found by 403s that did not name them, which is also what
    # a user who is not a Site Admin gets (harvest-v3-facts.md rows 34-35).
    missing_ambiguous: Mapped[bool] = mapped_column(default=False)
    # v3: the user the last check read as (None: the service account).
    checked_as_user_id: Mapped[int | None] = mapped_column(BigInteger)
    connected_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    checked_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_success_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[dt.datetime | None]
    rate_limited_count: Mapped[int] = mapped_column(BigInteger, default=0)
    rate_limit: Mapped[int | None]


class CustomFieldRecord(Base):
    """A Greenhouse application custom field we write, found by name or created by us."""

    __tablename__ = "custom_field"
    __table_args__ = (UniqueConstraint("organization_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    organization_id: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(255))
    greenhouse_id: Mapped[int] = mapped_column(BigInteger)
    name_key: Mapped[str] = mapped_column(String(255))
    created_by_us: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class TokenRecord(Base):
    """A Harvest v3 access token, one per OAuth client and `sub`, shared by every replica
    (minting another may revoke it: harvest-v3-facts.md E12)."""

    __tablename__ = "harvest_token"

    # "<client fingerprint>:<sub>", "-" for the service account.
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    # Encrypted with the key-encryption key, bound to `key` and `generation`.
    encrypted_token: Mapped[str] = mapped_column(Text)
    generation: Mapped[int] = mapped_column(default=1)
    # Epoch seconds.
    expires_at: Mapped[float] = mapped_column(Float)
    renew_at: Mapped[float] = mapped_column(Float)
    # None when the token answer named none (row 36).
    scopes: Mapped[list[str] | None] = mapped_column(JSON)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class LeaseLock(Base):
    """A lock every replica sees, held until `expires_at` (epoch seconds) at most, so that
    a holder that died does not hold it forever."""

    __tablename__ = "harvest_lock"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[float] = mapped_column(Float)


class RateBudgetRecord(Base):
    """A Harvest credential's rate budget, shared by every replica: what was learnt of the
    limit, and a 429's pause."""

    __tablename__ = "harvest_rate_budget"

    # The credential's fingerprint.
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    rate_limit: Mapped[int | None]
    learnt: Mapped[bool] = mapped_column(default=False)
    paused_until: Mapped[float] = mapped_column(Float, default=0.0)


class RateSlot(Base):
    """One request's slot in a shared budget, held until `free_at` (epoch seconds)."""

    __tablename__ = "harvest_rate_slot"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    budget_key: Mapped[str] = mapped_column(String(64), index=True)
    free_at: Mapped[float] = mapped_column(Float)
    # False while its request is in flight (free_at is then a lease).
    answered: Mapped[bool] = mapped_column(default=False)


# The push queue. Its dedupe key is "<organization id>:<result id>", which makes queueing
# idempotent per result and lets the status count an organization's queue by prefix.
OUTBOX = outbox_table(Base.metadata)
