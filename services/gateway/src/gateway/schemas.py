"""The JSON bodies Greenhouse sends, validated strictly (a number where a string belongs
is an error) but openly (unknown keys are ignored: Greenhouse adds properties)."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from alooba_common.validation import (
    MAX_EMAIL_LENGTH,
    MAX_NAME_LENGTH,
    MAX_PHONE_LENGTH,
    email_problem,
    has_control_characters,
)
from gateway.errors import RequestError


def _printable(value: str) -> str:
    if has_control_characters(value):
        raise ValueError("must not contain control characters")
    return value


def _free_text(value: str) -> str:
    if has_control_characters(value, free_text=True):
        raise ValueError("must not contain control characters other than tab and line breaks")
    return value


def _email(value: str) -> str:
    problem = email_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def _not_blank(value: str) -> str:
    # The services strip what they store: all-whitespace is as good as empty.
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def _url(value: str) -> str:
    # Only that it parses (the services judge scheme, host and shape): an unbalanced
    # "[" or a port out of range is bad input here, not an error deep in a service.
    try:
        urlsplit(value).port  # noqa: B018 - raises ValueError for a malformed URL
    except ValueError:
        raise ValueError("is not a valid URL") from None
    return value


# One line of text: no control character at all (CR/LF would split an email header).
Text = Annotated[str, AfterValidator(_printable)]
# Greenhouse's free-text error messages may keep their lines.
FreeText = Annotated[str, AfterValidator(_free_text)]
Url = Annotated[Text, AfterValidator(_url)]
Email = Annotated[Text, AfterValidator(_email)]


class _Body(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class SendTestCandidate(_Body):
    # The contact's limits are alooba_common.validation's, as in the services behind.
    first_name: Text = Field(min_length=1, max_length=MAX_NAME_LENGTH)
    last_name: Text = Field(min_length=1, max_length=MAX_NAME_LENGTH)
    # Documented as required, but "properties without a value use null".
    preferred_name: Text | None = Field(default=None, max_length=MAX_NAME_LENGTH)
    resume_url: Text | None = Field(default=None, max_length=2048)
    phone_number: Text | None = Field(default=None, max_length=MAX_PHONE_LENGTH)
    email: Email = Field(min_length=3, max_length=MAX_EMAIL_LENGTH)
    # Documented as required, but a send_test without it (or with one of another shape)
    # still gets its candidate a test: only the Harvest push, which needs the ids in it,
    # is skipped. So it is not judged here beyond being text.
    greenhouse_profile_url: Text | None = Field(default=None, max_length=2048)


class SendTestBody(_Body):
    partner_test_id: Text = Field(min_length=1, max_length=200)
    candidate: SendTestCandidate
    sent_by: Text | None = Field(default=None, max_length=320)
    url: Url = Field(min_length=1, max_length=2048)


class ResponseErrorBody(_Body):
    api_call: Annotated[Text, AfterValidator(_not_blank)] = Field(min_length=1, max_length=100)
    errors: list[FreeText] = Field(max_length=100)
    partner_test_id: Text | None = Field(default=None, max_length=200)
    partner_test_name: Text | None = Field(default=None, max_length=500)
    partner_interview_id: Text | None = Field(default=None, max_length=200)
    # PII: only its presence is forwarded.
    candidate_email: Text | None = None


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
