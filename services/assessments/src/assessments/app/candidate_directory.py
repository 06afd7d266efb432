"""The candidates service as the use cases need it: the ports (CandidateDirectory, where
send_test registers an application; CandidateReader, what a report shows) and the data they
carry. assessments keeps only the references the candidates service returns;
outbound.clients implements both over gRPC."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from assessments.app import greenhouse


@dataclass(frozen=True, slots=True)
class CandidateContact:
    first_name: str
    last_name: str
    preferred_name: str | None
    email: str
    phone_number: str | None


@dataclass(frozen=True, slots=True)
class ApplicationRefs:
    candidate_id: str
    application_id: str


class CandidateDirectory(Protocol):
    """Where candidate PII goes; assessments keeps only the references it returns."""

    async def register_application(
        self,
        *,
        organization_id: str,
        profile: greenhouse.ProfileIds | None,
        contact: CandidateContact,
        resume_url: str | None,
        profile_url: str | None,
        sent_by: str | None,
        registration_key: str,
    ) -> ApplicationRefs: ...


@dataclass(frozen=True, slots=True)
class CandidateSummary:
    """What a report shows about the candidate; nothing once they were erased."""

    display_name: str
    erased: bool
    hiring_status: str
    # When a Greenhouse status webhook last changed the hiring status, and when the
    # candidate was erased (for the invitation's timeline).
    hiring_status_changed_at: dt.datetime | None = None
    erased_at: dt.datetime | None = None


class CandidateReader(Protocol):
    async def summary(
        self, organization_id: str, candidate_id: str, application_id: str
    ) -> CandidateSummary | None:
        """None when the candidates service does not know the candidate."""
