"""Tables of the assessments database. No column here ever holds candidate PII."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from alooba_common.db import EnumText, UtcDateTime, new_metadata, utcnow
from alooba_common.outbox import outbox_table
from assessments.store.states import InvitationStatus


class Base(DeclarativeBase):
    metadata = new_metadata()
    type_annotation_map = {dt.datetime: UtcDateTime()}


class Organization(Base):
    __tablename__ = "organization"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    # Exact and case-sensitive: Greenhouse names the organization in X-Organisation.
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ApiKey(Base):
    __tablename__ = "api_key"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organization.id"), index=True)
    prefix: Mapped[str] = mapped_column(String(16))
    # Keyed hash of the secret: how a presented key is found without storing it in clear.
    lookup_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The secret itself, encrypted with the key-encryption key. Needed to sign the
    # Greenhouse callback and to verify webhook signatures.
    encrypted_secret: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Set when a rotation retires the key: it is accepted until then.
    expires_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]
    last_used_at: Mapped[dt.datetime | None]


class Test(Base):
    __tablename__ = "test"
    __test__ = False  # not a pytest test class

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organization.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    needs_manual_evaluation: Mapped[bool] = mapped_column(default=False)
    expiry_days: Mapped[int]
    archived_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Invitation(Base):
    __tablename__ = "invitation"
    __table_args__ = (
        # send_test is idempotent on Greenhouse's callback url, per organization, so one
        # tenant can never reach another's invitation by replaying its url.
        UniqueConstraint("organization_id", "callback_url"),
        Index("ix_invitation_org_created", "organization_id", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organization.id"))
    test_id: Mapped[str] = mapped_column(ForeignKey("test.id"))
    status: Mapped[InvitationStatus] = mapped_column(EnumText(InvitationStatus, 32))
    callback_url: Mapped[str] = mapped_column(String(2048))
    # Opaque references into the candidates service.
    candidate_id: Mapped[str] = mapped_column(String(32))
    application_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    expires_at: Mapped[dt.datetime]
    # The candidate's link carries a random token; we keep its keyed hash to find the
    # invitation and an encrypted copy to put it in reminder and resent emails.
    access_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    encrypted_access_token: Mapped[str | None] = mapped_column(Text)
    # Copied from the test when sent, so editing the test does not change a running one.
    needs_manual_evaluation: Mapped[bool] = mapped_column(default=False)
    started_at: Mapped[dt.datetime | None]
    submitted_at: Mapped[dt.datetime | None]
    completed_at: Mapped[dt.datetime | None]
    cancelled_at: Mapped[dt.datetime | None]
    reminder_queued_at: Mapped[dt.datetime | None]
    score: Mapped[float | None] = mapped_column(Float)
    # [{"skill": name, "score": 0-100}, ...]
    skill_scores: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    evaluator: Mapped[str | None] = mapped_column(String(200))
    resend_count: Mapped[int] = mapped_column(default=0)


Index("ix_invitation_status_expires_at", Invitation.status, Invitation.expires_at)


class InvitationEvent(Base):
    __tablename__ = "invitation_event"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    invitation_id: Mapped[str] = mapped_column(ForeignKey("invitation.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Non-PII details only (scores, who evaluated by id, reasons).
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ResponseErrorReport(Base):
    """A complaint from Greenhouse about one of our responses (its response_error call)."""

    __tablename__ = "response_error_report"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organization.id"), index=True)
    api_call: Mapped[str] = mapped_column(String(100))
    errors: Mapped[list[str]] = mapped_column(JSON)
    partner_test_id: Mapped[str | None] = mapped_column(String(200))
    partner_test_name: Mapped[str | None] = mapped_column(String(500))
    partner_interview_id: Mapped[str | None] = mapped_column(String(200))
    candidate_email_present: Mapped[bool] = mapped_column(default=False)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class IdempotencyRecord(Base):
    """A platform call already applied: its key, what was asked, and the invitation."""

    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("rpc", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    rpc: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    invitation_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


OUTBOX = outbox_table(Base.metadata)


class WebhookPing(Base):
    """The last ping of each of an organization's Greenhouse webhooks (the setup check)."""

    __tablename__ = "webhook_ping"
    __table_args__ = (UniqueConstraint("organization_id", "web_hook_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organization.id"))
    web_hook_id: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(200))
    event: Mapped[str] = mapped_column(String(200))
    endpoint_url: Mapped[str] = mapped_column(String(2048))
    active: Mapped[bool] = mapped_column(default=True)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class WebhookReceipt(Base):
    """How many webhooks of one action an organization's Greenhouse sent, whose signature
    verified or not, and when each last happened (the setup check). No payload, no PII."""

    __tablename__ = "webhook_receipt"

    organization_id: Mapped[str] = mapped_column(ForeignKey("organization.id"), primary_key=True)
    # Greenhouse's action ("hire_candidate", "ping", ...), or "other".
    action: Mapped[str] = mapped_column(String(64), primary_key=True)
    success_count: Mapped[int] = mapped_column(BigInteger, default=0)
    last_success_at: Mapped[dt.datetime | None]
    failure_count: Mapped[int] = mapped_column(BigInteger, default=0)
    last_failure_at: Mapped[dt.datetime | None]
