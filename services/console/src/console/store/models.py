"""Tables of the console database: the customer's users, their role in each organization,
sessions, the audit log, invitation and password-reset links, failed sign-ins, and the
outbox that emails the links. No candidate data: reports are read from the services."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Text, false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from alooba_common.db import UtcDateTime, new_metadata
from alooba_common.outbox import outbox_table


class Base(DeclarativeBase):
    metadata = new_metadata()
    type_annotation_map = {dt.datetime: UtcDateTime()}


class User(Base):
    __tablename__ = "console_user"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    # Lower-cased; how a person signs in.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    # argon2id (PHC string); None until they accept their first invitation.
    password_hash: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime]
    password_changed_at: Mapped[dt.datetime | None]


class Membership(Base):
    __tablename__ = "membership"

    user_id: Mapped[str] = mapped_column(ForeignKey("console_user.id"), primary_key=True)
    # The assessments service's organization id.
    organization_id: Mapped[str] = mapped_column(String(32), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(16))  # owner, admin or member
    # A Member who may record manual evaluations (set by an Owner or Admin); Owners and
    # Admins may whatever this says.
    grader: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[dt.datetime]


class Session(Base):
    """A signed-in browser. The cookie holds a random token; only its hash is kept."""

    __tablename__ = "console_session"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("console_user.id"), index=True)
    # The synchronizer token every form of this session must send back.
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime]
    last_seen_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]


class Link(Base):
    """An invitation to join an organization, or a password reset: a secret link, emailed
    (through the outbox, which is why an encrypted copy is kept until it is used)."""

    __tablename__ = "console_link"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # invitation or reset
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    encrypted_token: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str] = mapped_column(String(320))
    organization_id: Mapped[str | None] = mapped_column(String(32))
    role: Mapped[str | None] = mapped_column(String(16))
    invited_by: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]


class AuditEntry(Base):
    """Who did what, when, in an organization. Details carry ids and names, never secrets."""

    __tablename__ = "audit_entry"
    __table_args__ = (
        Index("ix_audit_entry_organization_occurred", "organization_id", "occurred_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organization_id: Mapped[str] = mapped_column(String(32))
    # None: an operator (through `alooba-gh`).
    actor_user_id: Mapped[str | None] = mapped_column(String(32))
    actor_label: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    occurred_at: Mapped[dt.datetime]


class LoginFailure(Base):
    """A failed sign-in, by keyed hash of the e-mail address or the client address."""

    __tablename__ = "login_failure"
    __table_args__ = (Index("ix_login_failure_subject_occurred", "subject", "occurred_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    subject: Mapped[str] = mapped_column(String(80))
    occurred_at: Mapped[dt.datetime]


OUTBOX = outbox_table(Base.metadata)
