"""The parts of Greenhouse's webhook payloads we act on, read leniently: Greenhouse adds
properties freely, and each action's payload has its own shape (hire_candidate has no
application status, candidate_anonymized only a candidate id and field names)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gateway.errors import RequestError

# Greenhouse's ids, as the services' protobuf int64 fields carry them: a number beyond
# that is a bad payload (422), not an overflow deep in the handler.
Int64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Envelope(_Lenient):
    action: str
    payload: dict[str, Any]


class _Candidate(_Lenient):
    id: Int64


class _Offer(_Lenient):
    resolved_at: str | None = None


class _Application(_Lenient):
    id: Int64
    candidate: _Candidate
    rejected_at: str | None = None
    last_activity_at: str | None = None
    offer: _Offer | None = None


class ApplicationPayload(_Lenient):
    """reject_candidate, unreject_candidate, hire_candidate, unhire_candidate."""

    application: _Application


class AnonymizedPayload(_Lenient):
    candidate_id: Int64
    anonymized_fields: list[str] = []


class _Person(_Lenient):
    id: Int64


class DeletedPayload(_Lenient):
    person: _Person


class _MergedPerson(_Lenient):
    id: Int64
    new_candidate_id: Int64


class MergedPayload(_Lenient):
    """merge_candidate, as Greenhouse's example shows it: `person` is the candidate merged
    away (the delete_candidate person fields) and `person.new_candidate_id` the survivor."""

    person: _MergedPerson


class PingPayload(_Lenient):
    web_hook_id: Int64
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
                if parsed.tzinfo is None:
                    parsed = parsed.replace(tzinfo=dt.UTC)
                # In UTC, which a time at either end of the calendar may not fit.
                return parsed.astimezone(dt.UTC)
            except (ValueError, OverflowError):
                continue
    return None
