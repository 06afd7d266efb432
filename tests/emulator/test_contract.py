"""The contract rules, one at a time, with the docs' own examples as the good cases."""

from __future__ import annotations

import json
from typing import Any

import pytest

from greenhouse_emulator import contract
from greenhouse_emulator.contract import COMPLETE_WITHOUT_PROFILE_URL, check_response

# Verbatim from Greenhouse's docs (reference §1.3, §1.4, §1.6).
DOCS_LIST_TESTS = b"""[
	{
		"partner_test_id": "12345",
		"partner_test_name": "My First Test"
	},
	{
		"partner_test_id": "54321",
		"partner_test_name": "My Second Test"
	}
]"""
DOCS_SEND_TEST = b'{\n  "partner_interview_id": "98765"\n}'
DOCS_TEST_STATUS = b"""{
	"partner_status": "complete",
	"partner_profile_url": "http://example.com/tests/12345",
	"partner_score": 81,
	"metadata":
		{
			"Started At": "10:15 AM 26 March 2014",
			"Completed At": "10:15 AM 26 March 2014",
			"Notes": "This candidate did extremely well!"
		}

}"""


def _status(**fields: Any) -> dict[str, Any]:
    return {"partner_status": "sent", **fields}


# --- the docs' examples -------------------------------------------------------------


@pytest.mark.parametrize(
    ("api_call", "body"),
    [
        ("list_tests", DOCS_LIST_TESTS),
        ("send_test", DOCS_SEND_TEST),
        ("test_status", DOCS_TEST_STATUS),
    ],
)
def test_docs_examples_are_valid(api_call: str, body: bytes) -> None:
    checked = check_response(api_call, body)
    assert checked.errors == []
    assert checked.payload == json.loads(body)


# --- JSON itself ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b"", b"  ", b"not json", b'{"partner_interview_id": "1"', b"\xff\xfe"],
)
def test_a_body_that_is_not_json_is_refused(body: bytes) -> None:
    checked = check_response("send_test", body)
    assert checked.payload is None
    assert len(checked.errors) == 1
    assert "JSON" in checked.errors[0] or "UTF-8" in checked.errors[0]


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
def test_non_standard_json_numbers_are_refused(constant: bytes) -> None:
    body = b'{"partner_status": "complete", "partner_profile_url": "https://x.io/r", '
    body += b'"partner_score": ' + constant + b"}"
    assert check_response("test_status", body).errors == [
        f"response body is not valid JSON: {constant.decode()} is not a JSON value"
    ]


def test_a_key_repeated_in_an_object_is_refused() -> None:
    errors = check_response(
        "send_test", b'{"partner_interview_id": "1", "partner_interview_id": "2"}'
    )
    assert errors.errors == [
        "response body is not valid JSON: key 'partner_interview_id' appears more than once "
        "in an object"
    ]


# --- list_tests -----------------------------------------------------------------------------


def test_list_tests_may_be_empty() -> None:
    assert contract.check_list_tests([]) == []


@pytest.mark.parametrize(
    ("payload", "kind"),
    [
        ({"partner_test_ids": []}, "object"),  # the wrapped shape a third-party spec invented
        ("tests", "string"),
        (None, "null"),
    ],
)
def test_list_tests_must_be_a_bare_array(payload: Any, kind: str) -> None:
    assert contract.check_list_tests(payload) == [
        f"response must be a JSON array of tests, got {kind}"
    ]


def test_list_tests_items_must_be_objects() -> None:
    assert contract.check_list_tests([["12345", "My First Test"]]) == [
        "tests[0] must be an object, got array"
    ]


def test_list_tests_items_need_both_fields() -> None:
    assert contract.check_list_tests([{"partner_test_id": "1"}, {"partner_test_name": "B"}]) == [
        "tests[0].partner_test_name is missing",
        "tests[1].partner_test_id is missing",
    ]


def test_list_tests_ids_and_names_must_be_strings() -> None:
    assert contract.check_list_tests([{"partner_test_id": 12345, "partner_test_name": None}]) == [
        "tests[0].partner_test_id must be a string, got number",
        "tests[0].partner_test_name must be a string, got null",
    ]


def test_list_tests_ids_and_names_must_not_be_empty() -> None:
    assert contract.check_list_tests([{"partner_test_id": "", "partner_test_name": " "}]) == [
        "tests[0].partner_test_id must not be empty",
        "tests[0].partner_test_name must not be empty",
    ]


def test_list_tests_ids_must_be_unique() -> None:
    tests = [
        {"partner_test_id": "1", "partner_test_name": "A"},
        {"partner_test_id": "1", "partner_test_name": "B"},
    ]
    assert contract.check_list_tests(tests) == ["tests[1].partner_test_id '1' repeats tests[0]"]


def test_list_tests_extra_keys_are_tolerated() -> None:
    tests = [{"partner_test_id": "1", "partner_test_name": "A", "skills": ["SQL"]}]
    assert contract.check_list_tests(tests) == []


# --- send_test ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ([{"partner_interview_id": "1"}], "response must be a JSON object, got array"),
        ({}, "partner_interview_id is missing"),
        ({"partner_interview_id": 98765}, "partner_interview_id must be a string, got number"),
        ({"partner_interview_id": None}, "partner_interview_id must be a string, got null"),
        ({"partner_interview_id": ""}, "partner_interview_id must not be empty"),
    ],
)
def test_send_test_needs_a_non_empty_string_interview_id(payload: Any, error: str) -> None:
    assert contract.check_send_test(payload) == [error]


# --- test_status -------------------------------------------------------------------------------


def test_status_with_only_a_status_is_valid() -> None:
    assert contract.check_test_status({"partner_status": "in_progress"}) == []


def test_status_with_every_optional_field_null_is_valid() -> None:
    payload = _status(partner_profile_url=None, partner_score=None, metadata=None)
    assert contract.check_test_status(payload) == []


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ("complete", "response must be a JSON object, got string"),
        ({}, "partner_status is missing"),
        ({"partner_status": None}, "partner_status must be a string, got null"),
        ({"partner_status": ""}, "partner_status must not be empty"),
    ],
)
def test_status_needs_a_string_partner_status(payload: Any, error: str) -> None:
    assert contract.check_test_status(payload) == [error]


@pytest.mark.parametrize("url", [None, "absent"])
def test_complete_without_profile_url_uses_the_docs_wording(url: str | None) -> None:
    payload: dict[str, Any] = {"partner_status": "complete", "partner_score": 81}
    if url is None:
        payload["partner_profile_url"] = None
    assert contract.check_test_status(payload) == [COMPLETE_WITHOUT_PROFILE_URL]
    assert COMPLETE_WITHOUT_PROFILE_URL == (
        "partner_status is 'complete' but partner_profile url is missing"
    )


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("", "partner_profile_url must not be empty"),
        (42, "partner_profile_url must be a string or null, got number"),
        ("/reports/1", "partner_profile_url must be an absolute http(s) URL"),
        ("javascript:alert(1)", "partner_profile_url must be an absolute http(s) URL"),
    ],
)
def test_profile_url_must_be_an_absolute_http_url(url: Any, error: str) -> None:
    assert contract.check_test_status(
        _status(partner_status="complete", partner_profile_url=url)
    ) == [error]


def test_profile_url_is_checked_before_completion_too() -> None:
    assert contract.check_test_status(_status(partner_profile_url=["x"])) == [
        "partner_profile_url must be a string or null, got array"
    ]


@pytest.mark.parametrize("score", [0, 81, 81.5, -1, None])
def test_score_may_be_a_number_or_null(score: Any) -> None:
    assert contract.check_test_status(_status(partner_score=score)) == []


@pytest.mark.parametrize(
    ("score", "kind"), [("81", "string"), (True, "boolean"), ({"total": 81}, "object")]
)
def test_score_must_not_be_anything_else(score: Any, kind: str) -> None:
    assert contract.check_test_status(_status(partner_score=score)) == [
        f"partner_score must be a number or null, got {kind}"
    ]


def test_flat_metadata_of_every_primitive_is_valid() -> None:
    metadata = {"s": "text", "i": 1, "f": 1.5, "b": False, "n": None}
    assert contract.check_test_status(_status(metadata=metadata)) == []


def test_nested_metadata_is_refused() -> None:
    metadata = {"Notes": "fine", "Skills": {"SQL": 90}, "Tags": ["a"]}
    assert contract.check_test_status(_status(metadata=metadata)) == [
        "metadata['Skills'] must be a JavaScript primitive (string, number, boolean or null), "
        "got object",
        "metadata['Tags'] must be a JavaScript primitive (string, number, boolean or null), "
        "got array",
    ]


def test_metadata_must_be_an_object() -> None:
    assert contract.check_test_status(_status(metadata=["a"])) == [
        "metadata must be an object or null, got array"
    ]


def test_every_problem_is_reported_at_once() -> None:
    payload = {"partner_status": "complete", "partner_score": "high", "metadata": {"x": []}}
    assert len(contract.check_test_status(payload)) == 3
