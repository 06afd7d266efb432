"""Tables of the candidates database: the only place candidate PII is stored."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from alooba_common.db import UtcDateTime, new_metadata, utcnow


class Base(DeclarativeBase):
    metadata = new_metadata()
    type_annotation_map = {dt.datetime: UtcDateTime()}


class Candidate(Base):
    __tablename__ = "candidate"
    __table_args__ = (UniqueConstraint("organization_id", "greenhouse_candidate_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    # The assessments service's organization id (opaque here).
    organization_id: Mapped[str] = mapped_column(String(32))
    greenhouse_candidate_id: Mapped[int] = mapped_column(BigInteger)
    first_name: Mapped[str] = mapped_column(String(200))
    last_name: Mapped[str] = mapped_column(String(200))
    preferred_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    phone_number: Mapped[str | None] = mapped_column(String(64))
    # active, rejected or hired; kept in step by Greenhouse's webhooks.
    hiring_status: Mapped[str] = mapped_column(String(16), default="active")
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
    profile_url: Mapped[str] = mapped_column(String(2048))
    sent_by: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
