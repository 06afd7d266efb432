"""The JSON bodies Greenhouse sends, validated strictly (a number where a string belongs
is an error) but openly (unknown keys are ignored: Greenhouse adds properties)."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gateway.errors import RequestError


class _Body(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class SendTestCandidate(_Body):
    first_name: str = Field(min_length=1, max_length=200)
    last_name: str = Field(min_length=1, max_length=200)
    # Documented as required, but "properties without a value use null".
    preferred_name: str | None = Field(default=None, max_length=200)
    resume_url: str | None = Field(default=None, max_length=2048)
    phone_number: str | None = Field(default=None, max_length=64)
    email: str = Field(min_length=3, max_length=320)
    greenhouse_profile_url: str = Field(min_length=1, max_length=2048)


class SendTestBody(_Body):
    partner_test_id: str = Field(min_length=1, max_length=200)
    candidate: SendTestCandidate
    sent_by: str | None = Field(default=None, max_length=320)
    url: str = Field(min_length=1, max_length=2048)


class ResponseErrorBody(_Body):
    api_call: str = Field(min_length=1, max_length=100)
    errors: list[str] = Field(max_length=100)
    partner_test_id: str | None = Field(default=None, max_length=200)
    partner_test_name: str | None = Field(default=None, max_length=500)
    partner_interview_id: str | None = Field(default=None, max_length=200)
    # PII: only its presence is forwarded.
    candidate_email: str | None = None


BodyT = TypeVar("BodyT", bound=_Body)


def parse_body(model: type[BodyT], raw: bytes) -> BodyT:
    """400 for malformed JSON, 422 (with the fields at fault) for a wrong shape."""
    if not raw.strip():
        raise RequestError(400, "the request body must be a JSON object")
    try:
        return model.model_validate_json(raw)
    except ValidationError as error:
        problems = error.errors(include_url=False, include_input=False, include_context=False)
        if any(problem["type"] == "json_invalid" for problem in problems):
            raise RequestError(400, "the request body is not valid JSON") from None
        raise RequestError(
            422, "the request body does not match the contract", _describe(problems)
        ) from None


def _describe(problems: list[Any]) -> list[dict[str, str]]:
    # Field paths and messages only: the rejected values may be PII.
    return [
        {
            "field": ".".join(str(part) for part in problem["loc"]) or "(body)",
            "problem": problem["msg"],
        }
        for problem in problems
    ]
