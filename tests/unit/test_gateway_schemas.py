"""Greenhouse's JSON bodies: strict about types, open about unknown keys, silent about
the values it rejects (they may be PII)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from alooba_common.errors import InvalidArgument
from alooba_common.validation import MAX_NAME_LENGTH, MAX_PHONE_LENGTH, checked_contact
from gateway.errors import RequestError
from gateway.schemas import ResponseErrorBody, SendTestBody, SendTestCandidate, parse_body


def documented_send_test() -> dict[str, Any]:
    """The send_test body from Greenhouse's documentation."""
    return {
        "partner_test_id": "12345",
        "candidate": {
            "first_name": "Harry",
            "last_name": "Potter",
            "preferred_name": "The Chosen One",
            "resume_url": "https://hogwarts.com/resume",
            "phone_number": "123-456-7890",
            "email": "hpotter@hogwarts.edu",
            "greenhouse_profile_url": "https://app.greenhouse.io/people/17681532?application_id=26234709",
        },
        "sent_by": "test_sender@example.org",
        "url": "https://app.greenhouse.io/integrations/testing_partners/take_home_tests/12345",
    }


def refusal(model: type[SendTestBody] | type[ResponseErrorBody], raw: bytes) -> RequestError:
    with pytest.raises(RequestError) as raised:
        parse_body(model, raw)
    return raised.value


def fields_at_fault(error: RequestError) -> set[str]:
    return {detail["field"] for detail in error.details or ()}


def test_documented_send_test_body_parses() -> None:
    body = parse_body(SendTestBody, json.dumps(documented_send_test()).encode())
    assert body.partner_test_id == "12345"
    assert body.candidate.email == "hpotter@hogwarts.edu"
    assert body.url.endswith("/take_home_tests/12345")


def test_documented_response_error_body_parses() -> None:
    raw = {
        "api_call": "test_status",
        "errors": ["partner_status is 'complete' but partner_profile url is missing"],
        "partner_test_id": "12345",
        "partner_test_name": "Personality Test",
        "partner_interview_id": "299506",
        "candidate_email": "hpotter@hogwarts.edu",
    }
    body = parse_body(ResponseErrorBody, json.dumps(raw).encode())
    assert body.api_call == "test_status"
    assert body.partner_interview_id == "299506"


@pytest.mark.parametrize("raw", [b"{", b"{'partner_test_id': 1}", b"not json", b'{"a": }'])
def test_malformed_json_is_400(raw: bytes) -> None:
    assert refusal(SendTestBody, raw).status == 400


@pytest.mark.parametrize("raw", [b"", b"   ", b"\n"])
def test_empty_body_is_400(raw: bytes) -> None:
    assert refusal(SendTestBody, raw).status == 400


def test_json_array_is_422() -> None:
    assert refusal(SendTestBody, b"[]").status == 422


def test_missing_required_fields_are_422_listing_each_field() -> None:
    error = refusal(SendTestBody, json.dumps({"candidate": {}}).encode())
    assert error.status == 422
    assert fields_at_fault(error) == {
        "partner_test_id",
        "url",
        "candidate.first_name",
        "candidate.last_name",
        "candidate.email",
    }


def test_missing_api_call_in_response_error_is_422() -> None:
    error = refusal(ResponseErrorBody, json.dumps({"errors": ["x"]}).encode())
    assert error.status == 422
    assert fields_at_fault(error) == {"api_call"}


def test_number_where_a_string_belongs_is_422() -> None:
    body = documented_send_test()
    body["partner_test_id"] = 12345
    error = refusal(SendTestBody, json.dumps(body).encode())
    assert error.status == 422
    assert fields_at_fault(error) == {"partner_test_id"}


def test_unknown_fields_are_ignored_at_top_level_and_inside_candidate() -> None:
    body = documented_send_test()
    body["greenhouse_job_id"] = 42
    body["metadata"] = {"nested": [1, 2]}
    body["candidate"]["pronouns"] = "he/him"
    parsed = parse_body(SendTestBody, json.dumps(body).encode())
    assert parsed.candidate.first_name == "Harry"
    assert not hasattr(parsed, "greenhouse_job_id")
    assert not hasattr(parsed.candidate, "pronouns")


def test_null_preferred_name_is_accepted() -> None:
    body = documented_send_test()
    body["candidate"]["preferred_name"] = None
    assert parse_body(SendTestBody, json.dumps(body).encode()).candidate.preferred_name is None


def test_null_optional_fields_are_accepted() -> None:
    body = documented_send_test()
    body["candidate"]["resume_url"] = None
    body["candidate"]["phone_number"] = None
    body["sent_by"] = None
    parsed = parse_body(SendTestBody, json.dumps(body).encode())
    assert parsed.candidate.resume_url is None
    assert parsed.sent_by is None


def test_error_details_never_contain_the_rejected_values() -> None:
    body = documented_send_test()
    body["candidate"]["first_name"] = 9182736455  # a number: wrong type
    body["candidate"]["email"] = "leaky.person@" + "x" * 400 + ".example"  # too long
    body["candidate"]["phone_number"] = ["+44 7700 900123"]  # a list: wrong type
    error = refusal(SendTestBody, json.dumps(body).encode())
    assert error.status == 422
    rendered = json.dumps({"message": error.message, "details": error.details})
    assert fields_at_fault(error) == {
        "candidate.first_name",
        "candidate.email",
        "candidate.phone_number",
    }
    for leaked in ("9182736455", "leaky.person", "7700 900123"):
        assert leaked not in rendered


@pytest.mark.parametrize(
    ("field", "longest"),
    [
        ("first_name", MAX_NAME_LENGTH),
        ("last_name", MAX_NAME_LENGTH),
        ("preferred_name", MAX_NAME_LENGTH),
        ("phone_number", MAX_PHONE_LENGTH),
    ],
)
def test_the_gateway_and_the_contact_rule_behind_it_agree_on_each_limit(
    field: str, longest: int
) -> None:
    # What the gateway lets through, the services' one contact rule accepts; one character
    # more is refused by both, naming the same field.
    body = documented_send_test()
    body["candidate"][field] = "x" * longest
    contact = parse_body(SendTestBody, json.dumps(body).encode()).candidate
    assert checked_contact(contact, "candidate.")[field] == "x" * longest

    body["candidate"][field] = "x" * (longest + 1)
    assert fields_at_fault(refusal(SendTestBody, json.dumps(body).encode())) == {
        f"candidate.{field}"
    }
    unchecked = SendTestCandidate.model_construct(**body["candidate"])
    with pytest.raises(InvalidArgument, match=f"^candidate.{field} must be at most {longest} "):
        checked_contact(unchecked, "candidate.")
