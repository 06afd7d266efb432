"""Tables of the candidates database: the only place candidate PII is stored."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from alooba_common.db import EnumText, UtcDateTime, new_metadata, utcnow
from alooba_common.outbox import outbox_table


class HiringStatus(StrEnum):
    """An application's status as Greenhouse's status webhooks last said (the same text in
    the database and in the protos' HiringStatus)."""

    ACTIVE = "active"
    REJECTED = "rejected"
    HIRED = "hired"


class Outcome(StrEnum):
    """What a webhook event did (the same text in the database and in the protos'
    EventOutcome). DUPLICATE is only ever an answer: a duplicate is not stored again."""

    APPLIED = "applied"
    DUPLICATE = "duplicate"
    STALE = "stale"
    UNKNOWN_CANDIDATE = "unknown_candidate"


class Base(DeclarativeBase):
    metadata = new_metadata()
    type_annotation_map = {dt.datetime: UtcDateTime()}


class Candidate(Base):
    __tablename__ = "candidate"
    __table_args__ = (
        UniqueConstraint("organization_id", "greenhouse_candidate_id"),
        UniqueConstraint("organization_id", "registration_key"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    # The assessments service's organization id (opaque here).
    organization_id: Mapped[str] = mapped_column(String(32))
    # NULL when send_test's profile URL named no Greenhouse candidate: such a candidate
    # is found again by registration_key only (no Greenhouse webhook can name it).
    greenhouse_candidate_id: Mapped[int | None] = mapped_column(BigInteger)
    registration_key: Mapped[str | None] = mapped_column(String(64))
    first_name: Mapped[str] = mapped_column(String(200))
    last_name: Mapped[str] = mapped_column(String(200))
    preferred_name: Mapped[str | None] = mapped_column(String(200))
    # NULL once erased.
    email: Mapped[str | None] = mapped_column(String(320))
    phone_number: Mapped[str | None] = mapped_column(String(64))
    # The status of the candidate's most recently changed application, for display; the
    # applications' own statuses are what the webhooks keep in step.
    hiring_status: Mapped[HiringStatus] = mapped_column(
        EnumText(HiringStatus, 16), default=HiringStatus.ACTIVE
    )
    # Set when the PII was erased; cleared when Greenhouse registers the candidate again.
    erased_at: Mapped[dt.datetime | None]
    # Set on the row of a Greenhouse candidate merged into another: its applications and
    # data moved to that row, its PII is gone, and look-ups by its id land on that row.
    merged_into_id: Mapped[str | None] = mapped_column(ForeignKey("candidate.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Application(Base):
    __tablename__ = "application"
    __table_args__ = (UniqueConstraint("candidate_id", "greenhouse_application_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    candidate_id: Mapped[str] = mapped_column(ForeignKey("candidate.id"), index=True)
    # NULL when the profile URL carried no application id; then one row per candidate
    # stands for "the application we were not told about".
    greenhouse_application_id: Mapped[int | None] = mapped_column(BigInteger)
    resume_url: Mapped[str | None] = mapped_column(String(2048))
    # NULL once erased.
    profile_url: Mapped[str | None] = mapped_column(String(2048))
    sent_by: Mapped[str | None] = mapped_column(String(320))
    # active, rejected or hired, as Greenhouse's status webhooks last said.
    status: Mapped[HiringStatus] = mapped_column(
        EnumText(HiringStatus, 16), default=HiringStatus.ACTIVE, server_default="active"
    )
    # When that happened in Greenhouse: an event older than this is stale. NULL until the
    # first status event.
    status_changed_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AssessmentDatum(Base):
    """PII the assessment app collected while the candidate took a test."""

    __tablename__ = "assessment_datum"
    __table_args__ = (UniqueConstraint("organization_id", "idempotency_key"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organization_id: Mapped[str] = mapped_column(String(32))
    candidate_id: Mapped[str] = mapped_column(ForeignKey("candidate.id"), index=True)
    # The assessments service's invitation id (opaque here).
    invitation_id: Mapped[str] = mapped_column(String(64))
    # ip_address, user_agent, answer or file.
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(Text)
    idempotency_key: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class WebhookEvent(Base):
    """Every Greenhouse webhook event this service received (status changes, erasures,
    merges), once per Greenhouse-Event-ID: the deduplication key and the history. Holds
    ids, times and outcomes, never PII."""

    __tablename__ = "webhook_event"
    __table_args__ = (UniqueConstraint("organization_id", "event_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organization_id: Mapped[str] = mapped_column(String(32))
    # Greenhouse-Event-ID.
    event_id: Mapped[str] = mapped_column(String(200))
    # Greenhouse's action name: reject_candidate, candidate_anonymized, merge_candidate, ...
    action: Mapped[str] = mapped_column(String(32))
    greenhouse_candidate_id: Mapped[int] = mapped_column(BigInteger)
    greenhouse_application_id: Mapped[int | None] = mapped_column(BigInteger)
    # When it happened in Greenhouse, as the payload said (NULL when it did not say).
    occurred_at: Mapped[dt.datetime | None]
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # applied, stale or unknown_candidate.
    outcome: Mapped[Outcome] = mapped_column(EnumText(Outcome, 24))
    # Ours, when the event matched a candidate.
    candidate_id: Mapped[str | None] = mapped_column(String(32), index=True)
    # A status event's resulting application status.
    status: Mapped[HiringStatus | None] = mapped_column(EnumText(HiringStatus, 16))
    # Ids only (say, a merge's merged Greenhouse candidate ids).
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ErasureReceipt(Base):
    """Proof that a candidate's PII was erased, and why. Holds no PII."""

    __tablename__ = "erasure_receipt"
    __table_args__ = (
        UniqueConstraint("organization_id", "event_id"),
        Index("ix_erasure_receipt_organization_id_erased_at", "organization_id", "erased_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organization_id: Mapped[str] = mapped_column(String(32))
    # Not a foreign key on purpose: a receipt must outlive anything done to the candidate.
    candidate_id: Mapped[str] = mapped_column(String(32), index=True)
    event_id: Mapped[str] = mapped_column(String(200))
    # candidate_anonymized or delete_candidate.
    reason: Mapped[str] = mapped_column(String(32))
    # Greenhouse's anonymized_fields, as given.
    requested_fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The kinds of PII erased (never values).
    erased: Mapped[list[str]] = mapped_column(JSON, default=list)
    applications: Mapped[int] = mapped_column(Integer)
    assessment_data_items: Mapped[int] = mapped_column(Integer)
    erased_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


# What erasure owes other services (assessments cancels the candidate's invitations),
# written in the erasure's transaction and delivered by the relay (server.py).
OUTBOX = outbox_table(Base.metadata)
