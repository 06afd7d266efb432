"""The parts of Greenhouse's webhook payloads we act on, read leniently: Greenhouse adds
properties freely, and each action's payload has its own shape (hire_candidate has no
application status, candidate_anonymized only a candidate id and field names)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from gateway.errors import RequestError


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Envelope(_Lenient):
    action: str
    payload: dict[str, Any]


class _Candidate(_Lenient):
    id: int


class _Offer(_Lenient):
    resolved_at: str | None = None


class _Application(_Lenient):
    id: int
    candidate: _Candidate
    rejected_at: str | None = None
    last_activity_at: str | None = None
    offer: _Offer | None = None


class ApplicationPayload(_Lenient):
    """reject_candidate, unreject_candidate, hire_candidate, unhire_candidate."""

    application: _Application


class AnonymizedPayload(_Lenient):
    candidate_id: int
    anonymized_fields: list[str] = []


class _Person(_Lenient):
    id: int


class DeletedPayload(_Lenient):
    person: _Person


class _MergedPerson(_Lenient):
    id: int
    new_candidate_id: int


class MergedPayload(_Lenient):
    """merge_candidate, as Greenhouse's example shows it: `person` is the candidate merged
    away (the delete_candidate person fields) and `person.new_candidate_id` the survivor."""

    person: _MergedPerson


class PingPayload(_Lenient):
    web_hook_id: int
    name: str = ""
    event: str = ""
    endpoint_url: str = ""
    active: bool = True


def parse(model: type[Any], data: Any, what: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        fields = [
            ".".join(str(part) for part in problem["loc"]) or "(payload)"
            for problem in error.errors(include_url=False, include_input=False)
        ]
        raise RequestError(
            422,
            f"the {what} payload does not match Greenhouse's documented shape",
            [{"field": field, "problem": "missing or of the wrong type"} for field in fields],
        ) from None


def occurred_at(action: str, application: _Application) -> dt.datetime | None:
    """When the change happened in Greenhouse, as best the payload tells."""
    candidates = {
        "reject_candidate": (application.rejected_at, application.last_activity_at),
        "hire_candidate": (application.offer.resolved_at if application.offer else None,),
    }.get(action, (application.last_activity_at,))
    for value in candidates:
        if value:
            try:
                parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                continue
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    return None
