"""Greenhouse's Recruiting Webhook payloads (reference §2.2, §2.5 to §2.6), built from the
docs' own examples (`source/includes/webhooks/_candidate_events.md`) with the ids, the
timestamps and the candidate's personal data as parameters.

Each builder returns a fresh `{"action": ..., "payload": {...}}` dict, so a test may
change any field (say, put hostile text in it) before sending. Whatever is not a
parameter keeps the docs' example value. Timestamps are ISO-8601 UTC strings such as
"2026-11-28T20:00:00Z"; a datetime is converted (a naive one is taken as UTC).

Like real Greenhouse, the application-centric payloads carry personal data: names,
email addresses, phone numbers, résumé links.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, Final

from greenhouse_emulator.models import Candidate

Timestamp = str | dt.datetime

# Every value the docs list for `anonymized_fields` (the list is open-ended: Harvest's
# anonymize endpoint accepts more, so a receiver must not reject unknown ones).
ANONYMIZED_FIELDS: Final = (
    "activity_items",
    "addresses",
    "all_offer_versions",
    "application_questions",
    "attachments",
    "candidate_stage_data",
    "coordinator",
    "credited_to",
    "custom_application_fields",
    "custom_candidate_fields",
    "custom_rejection_question_fields",
    "current_company",
    "current_title",
    "education",
    "email_addresses",
    "employment",
    "emails",
    "follow_up_reminders",
    "full_name",
    "headline",
    "inmails",
    "innotes",
    "location",
    "notes",
    "offers",
    "phone_numbers",
    "prospect_jobs",
    "prospect_offices",
    "prospect_offices_and_departments",
    "prospect_owner",
    "prospect_pool_and_stage",
    "recruiter",
    "referral_questions",
    "rejection_notes",
    "rejection_reasons",
    "scorecards_and_interviews",
    "social_media_links",
    "source",
    "tags",
    "third_party_integrations",
    "touchpoints",
    "websites",
)


def iso_utc(moment: Timestamp) -> str:
    """`moment` as Greenhouse writes timestamps, "2026-11-28T20:00:00Z"; strings pass
    through unchanged (so a test can send a malformed one)."""
    if isinstance(moment, str):
        return moment
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- the events ---------------------------------------------------------------------------


def reject_candidate(
    candidate_id: int,
    application_id: int,
    *,
    rejected_at: Timestamp,
    last_activity_at: Timestamp | None = None,
    candidate: Candidate | None = None,
) -> dict[str, Any]:
    """reject_candidate: the application with status "rejected", a rejection reason and
    `rejected_at` (also `last_activity_at` unless given)."""
    application = _application(
        candidate_id,
        application_id,
        candidate or Candidate(),
        status="rejected",
        rejected_at=iso_utc(rejected_at),
        last_activity_at=iso_utc(last_activity_at or rejected_at),
        current_stage=_offer_stage(),
        candidate_url=False,
    )
    application["rejection_reason"] = {
        "id": 14,
        "name": "Too Junior",
        "type": {"id": 3, "name": "Wrong skill set"},
    }
    application["rejection_details"] = {
        "custom_fields": {
            "custom_rejection_question_field": {
                "name": "Custom Rejection Question Field",
                "type": "short_text",
                "value": "Example",
            }
        }
    }
    return {"action": "reject_candidate", "payload": {"application": application}}


def unreject_candidate(
    candidate_id: int,
    application_id: int,
    *,
    last_activity_at: Timestamp,
    candidate: Candidate | None = None,
) -> dict[str, Any]:
    """unreject_candidate: the reject shape with status "active" and the rejection
    fields null."""
    application = _application(
        candidate_id,
        application_id,
        candidate or Candidate(),
        status="active",
        rejected_at=None,
        last_activity_at=iso_utc(last_activity_at),
        current_stage=_offer_stage(),
        candidate_url=False,
    )
    return {"action": "unreject_candidate", "payload": {"application": application}}


def unhire_candidate(
    candidate_id: int,
    application_id: int,
    *,
    last_activity_at: Timestamp,
    candidate: Candidate | None = None,
) -> dict[str, Any]:
    """unhire_candidate: the application back to status "active", in a stage with an
    interview kit."""
    application = _application(
        candidate_id,
        application_id,
        candidate or Candidate(),
        status="active",
        rejected_at=None,
        last_activity_at=iso_utc(last_activity_at),
        current_stage={
            "id": 678901,
            "name": "Application Review",
            "interviews": [
                {
                    "id": 989099,
                    "name": "Application Review",
                    "status": "collect_feedback",
                    "interview_kit": {
                        "url": f"http://app.greenhouse.io/guides/67656/people/{candidate_id}",
                        "content": "",
                        "questions": [],
                    },
                    "interviewers": [],
                }
            ],
        },
        candidate_url=True,
    )
    return {"action": "unhire_candidate", "payload": {"application": application}}


def hire_candidate(
    candidate_id: int,
    application_id: int,
    *,
    resolved_at: Timestamp,
    offer_id: int = 506409,
    starts_at: str | None = None,
    candidate: Candidate | None = None,
) -> dict[str, Any]:
    """hire_candidate: application-centric with the accepted `offer` (`resolved_at` is
    when it was accepted). As documented, the application has no `status`,
    `rejected_at` or `current_stage`. `starts_at` (YYYY-MM-DD) defaults to four weeks
    after `resolved_at`."""
    resolved = iso_utc(resolved_at)
    candidate = candidate or Candidate()
    person = {
        "id": candidate_id,
        "first_name": candidate.first_name,
        "last_name": candidate.last_name,
        "title": "Previous Title",
        "external_id": None,
        "url": _person_url(candidate_id),
        "is_private": False,
        "can_email": True,
        **_contact(candidate),
        "addresses": [{"value": "455 Broadway New York, NY 10280", "type": "home"}],
        "educations": _educations(),
        "employments": _employments(),
        "recruiter": _user(55, "bob_johnson@localhost.com", "Bob Johnson", "456DEF"),
        "coordinator": _user(
            56, "bob_johnson_approver1@localhost.com", "Robert J Approver", "789GHI"
        ),
        "attachments": _attachments(candidate),
        "custom_fields": {
            "desired_level": _field("Desired Level", "short_text", "Senior"),
        },
    }
    job = _job()
    application = {
        "id": application_id,
        "opening": {"opening_id": "1234-56", "custom_fields": []},
        "credited_to": _user(158104, "bob_johnson1@localhost.com", "Robert Johnson", "123ABC"),
        "source": {"id": 25, "public_name": "Monster"},
        "url": _application_url(candidate_id, application_id),
        "candidate": person,
        # Deprecated by Greenhouse in favour of `jobs`, still sent.
        "job": {
            "id": job["id"],
            "name": job["name"],
            "open_date": job["opened_at"],
            "close_date": job["closed_at"],
            "requisition_id": None,
            "departments": job["departments"],
            "offices": job["offices"],
            "custom_fields": job["custom_fields"],
        },
        "jobs": [_job()],
        "custom_fields": _application_fields(),
        "offer": {
            "id": offer_id,
            "version": 2,
            "created_at": resolved,
            "sent_at": resolved[:10],
            "resolved_at": resolved,
            "starts_at": starts_at or _days_after(resolved, 28),
            "custom_fields": {
                "salary": _field("Salary", "currency", {"amount": 80000, "unit": "USD"}),
            },
        },
    }
    return {"action": "hire_candidate", "payload": {"application": application}}


def candidate_anonymized(candidate_id: int, anonymized_fields: Iterable[str]) -> dict[str, Any]:
    """candidate_anonymized: only the candidate id and the anonymized field names (no
    application id)."""
    return {
        "action": "candidate_anonymized",
        "payload": {"candidate_id": candidate_id, "anonymized_fields": list(anonymized_fields)},
    }


def delete_candidate(
    person_id: int,
    deleted_application_ids: Iterable[int],
    *,
    candidate: Candidate | None = None,
) -> dict[str, Any]:
    """delete_candidate: `payload.person`, with the application ids deleted with it."""
    person = _person(person_id, candidate or Candidate())
    person["deleted_application_ids"] = list(deleted_application_ids)
    return {"action": "delete_candidate", "payload": {"person": person}}


def merge_candidate(
    person_id: int,
    new_candidate_id: int,
    *,
    candidate: Candidate | None = None,
) -> dict[str, Any]:
    """merge_candidate: the candidate merged away (`person.id`, who no longer exists)
    and the surviving record it was merged into (`person.new_candidate_id`).

    The one place the merge shape is decided. It is the docs' own example ("Candidate
    merged" in `_candidate_events.md`; greenhouse-api.md lists only the action name):
    the delete_candidate person plus `new_candidate_id`, "the ID of the candidate to
    whom this candidate has been merged". UNCONFIRMED beyond that example: the docs'
    prose says the payload "matches the payload for candidate deleted except it
    contains the ID of the winning candidate record", yet the example has no
    `deleted_application_ids` (the docs add that in merges it is usually empty), so
    none is sent. Greenhouse sends merge_candidate instead of delete_candidate when
    both are configured, delete_candidate for a merge when only it is.
    """
    person = _person(person_id, candidate or Candidate())
    person["new_candidate_id"] = new_candidate_id
    return {"action": "merge_candidate", "payload": {"person": person}}


def ping(
    web_hook_id: int,
    name: str,
    event: str,
    endpoint_url: str,
    *,
    created_at: Timestamp = "2018-10-19T16:25:57Z",
    updated_at: Timestamp | None = None,
    active: bool = True,
) -> dict[str, Any]:
    """The ping sent when a webhook is saved, in the only captured shape (zulip's 2018
    fixture; the docs have none). `event` is the "When" label, e.g. "Candidate has been
    hired". Whether Greenhouse signs the ping is UNCONFIRMED; the sender signs it."""
    return {
        "payload": {
            "active": active,
            "created_at": iso_utc(created_at),
            "web_hook_id": web_hook_id,
            "name": name,
            "endpoint_url": endpoint_url,
            "content-type": "application/json",
            "updated_at": iso_utc(updated_at or created_at),
            "event": event,
        },
        "action": "ping",
    }


# --- parts ----------------------------------------------------------------------------------


def _application(
    candidate_id: int,
    application_id: int,
    candidate: Candidate,
    *,
    status: str,
    rejected_at: str | None,
    last_activity_at: str,
    current_stage: dict[str, Any],
    candidate_url: bool,
) -> dict[str, Any]:
    """The application object of reject/unreject/unhire (and candidate_stage_change)."""
    person: dict[str, Any] = {
        "id": candidate_id,
        "first_name": candidate.first_name,
        "last_name": candidate.last_name,
        "title": None,
        "company": None,
        "created_at": "2013-10-04T01:24:48Z",
        "external_id": None,
        "photo_url": None,
    }
    if candidate_url:  # the docs' unhire example has it, the reject ones do not
        person["url"] = _person_url(candidate_id)
    person |= {
        "is_private": False,
        "can_email": True,
        **_contact(candidate),
        "addresses": [],
        "website_addresses": [],
        "social_media_addresses": [],
        "educations": _educations(),
        "employments": _employments(),
        "recruiter": None,
        "coordinator": None,
        "attachments": _attachments(candidate),
        "tags": ["Imported"],
        "custom_fields": {"favorite_color": _field("Favorite Color", "short_text", "Blue")},
    }
    return {
        "id": application_id,
        "rejected_at": rejected_at,
        "prospect": False,
        "status": status,
        "applied_at": "2013-03-22T00:00:00Z",
        "last_activity_at": last_activity_at,
        "url": _application_url(candidate_id, application_id),
        "source": {"id": 27, "public_name": "LinkedIn"},
        "credited_to": None,
        "rejection_reason": None,
        "rejection_details": None,
        "current_stage": current_stage,
        "custom_fields": _application_fields(),
        "candidate": person,
        "jobs": [_job()],
    }


def _person(person_id: int, candidate: Candidate) -> dict[str, Any]:
    """The `person` of delete_candidate and merge_candidate."""
    return {
        "id": person_id,
        "first_name": candidate.first_name,
        "last_name": candidate.last_name,
        "company": "Pirate Shipping",
        "title": "Captain",
        "created_at": "2013-03-22T00:00:00Z",
        "headline": "Eager to find a new commission",
        "is_private": False,
        "recruiter_user_id": 123,
        "coordinator_user_id": 456,
        "can_email": False,
    }


def _contact(candidate: Candidate) -> dict[str, Any]:
    phones = [{"value": candidate.phone_number, "type": "mobile"}] if candidate.phone_number else []
    return {
        "phone_numbers": phones,
        "email_addresses": [{"value": candidate.email, "type": "personal"}],
    }


def _attachments(candidate: Candidate) -> list[dict[str, Any]]:
    if candidate.resume_url is None:
        return []
    return [{"filename": "resume.pdf", "url": candidate.resume_url, "type": "resume"}]


def _offer_stage() -> dict[str, Any]:
    return {"id": 2708728, "name": "Offer", "interviews": []}


def _job() -> dict[str, Any]:
    return {
        "id": 371417,
        "name": "Designer",
        "requisition_id": None,
        "notes": "Digital and print",
        "confidential": False,
        "job_post_id": 54321,
        "status": "open",
        "created_at": "2013-10-02T22:59:29Z",
        "opened_at": "2015-01-23T00:25:04Z",
        "closed_at": None,
        "departments": [{"id": 237, "name": "Community", "external_id": "ex-dept-1"}],
        "offices": [
            {
                "id": 9099,
                "name": "New York",
                "location": "New York, NY",
                "external_id": "ex-office-1",
            }
        ],
        "custom_fields": {
            "employment_type": _field("Employment Type", "single_select", "Full Time"),
        },
    }


def _educations() -> list[dict[str, Any]]:
    return [
        {
            "school_name": "Harvard University",
            "degree": "Bachelor's Degree",
            "discipline": "Information Systems",
            "start_date": "01/01/2012",
            "end_date": "01/01/2016",
        }
    ]


def _employments() -> list[dict[str, Any]]:
    return [
        {
            "company_name": "Greenhouse",
            "title": "Engineer",
            "start_date": "01/01/2012",
            "end_date": "01/01/2016",
        }
    ]


def _application_fields() -> dict[str, Any]:
    return {
        "custom_application_field": _field("Custom Application Field", "short_text", "Example123")
    }


def _field(name: str, kind: str, value: Any) -> dict[str, Any]:
    return {"name": name, "type": kind, "value": value}


def _user(user_id: int, email: str, name: str, employee_id: str) -> dict[str, Any]:
    return {"id": user_id, "email": email, "name": name, "employee_id": employee_id}


def _person_url(candidate_id: int) -> str:
    return f"https://app.greenhouse.io/people/{candidate_id}"


def _application_url(candidate_id: int, application_id: int) -> str:
    return f"{_person_url(candidate_id)}?application_id={application_id}"


def _days_after(timestamp: str, days: int) -> str:
    """The date `days` after an ISO timestamp, as YYYY-MM-DD (Greenhouse's starts_at)."""
    try:
        moment = dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return timestamp[:10]
    return (moment + dt.timedelta(days=days)).date().isoformat()
