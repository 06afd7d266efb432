"""Tables of the harvest-sync database: each organization's Harvest connection, the custom
fields found or created for it, and the push queue (a transactional outbox). No column
holds candidate PII: pushes carry a Greenhouse application id and scores only."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from alooba_common.db import UtcDateTime, new_metadata, utcnow
from alooba_common.outbox import outbox_table


class Base(DeclarativeBase):
    metadata = new_metadata()
    type_annotation_map = {dt.datetime: UtcDateTime()}


class Connection(Base):
    """One organization's Harvest connection, as last checked against Greenhouse."""

    __tablename__ = "harvest_connection"

    organization_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    mode: Mapped[str] = mapped_column(String(8))  # "v1" or "v3"
    # The API key (v1) or the OAuth client id and secret (v3), as JSON, encrypted with the
    # key-encryption key and bound to the organization. Never logged, never returned.
    encrypted_credential: Mapped[str] = mapped_column(Text)
    integration_user_email: Mapped[str] = mapped_column(String(320))
    integration_user_id: Mapped[int | None] = mapped_column(BigInteger)
    integration_user_site_admin: Mapped[bool] = mapped_column(default=False)
    integration_user_created: Mapped[bool] = mapped_column(default=False)
    # The Site Admin the integration user is created on behalf of (0/None: find one).
    acting_user_id: Mapped[int | None] = mapped_column(BigInteger)
    missing_permissions: Mapped[list[str]] = mapped_column(JSON, default=list)
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


# The push queue. Its dedupe key is "<organization id>:<result id>", which makes queueing
# idempotent per result and lets the status count an organization's queue by prefix.
OUTBOX = outbox_table(Base.metadata)
