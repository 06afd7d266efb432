"""The rules Greenhouse applies to a partner's responses, as pure functions.

Each check returns the list of problems in the words Greenhouse would put in a
`response_error` report; an empty list means the response is valid. The rules are the
documented ones (reference §1.3, §1.4, §1.6), read strictly:

- list_tests: a bare JSON array of objects with string `partner_test_id` and
  `partner_test_name`.
- send_test: an object with a string `partner_interview_id`.
- test_status: an object with a string `partner_status`; `partner_profile_url` is required
  when the status is "complete"; `partner_score` is a number; `metadata` is a non-nested
  object whose values are JavaScript primitives. Absent values may be null.

Where the documents leave room, the stricter reading is taken and said so next to the rule:
an identifier or label that is empty cannot identify or label anything, a URL Greenhouse
links to must be an absolute http(s) URL, and JSON must be the standard kind (no NaN, no
repeated keys), because Greenhouse's parser is not ours and need not forgive what Python's
does.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

LIST_TESTS: Final = "list_tests"
SEND_TEST: Final = "send_test"
TEST_STATUS: Final = "test_status"

COMPLETE: Final = "complete"

# Verbatim from the response_error example in Greenhouse's docs (reference §1.7).
COMPLETE_WITHOUT_PROFILE_URL: Final = (
    "partner_status is 'complete' but partner_profile url is missing"
)


@dataclass(frozen=True)
class CheckedResponse:
    """A response body after checking: the decoded JSON (None when it did not decode)
    and the problems found."""

    payload: Any
    errors: list[str]

    @property
    def valid(self) -> bool:
        """True when the response meets the contract."""
        return not self.errors


class _InvalidJson(ValueError):
    """A body that is not the strict JSON Greenhouse would accept."""


def json_type(value: object) -> str:
    """The JSON (JavaScript) name of a decoded value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def decode_json(body: bytes) -> tuple[Any, list[str]]:
    """Decode a response body as standard JSON in UTF-8.

    Returns (value, []) or (None, [problem]). NaN/Infinity and repeated object keys are
    refused: Python accepts them, a strict parser on Greenhouse's side need not.
    """

    def refuse_constant(name: str) -> Any:
        raise _InvalidJson(f"{name} is not a JSON value")

    def refuse_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in pairs:
            if key in result:
                raise _InvalidJson(f"key {key!r} appears more than once in an object")
            result[key] = value
        return result

    if not body.strip():
        return None, ["response body is empty; a JSON document is required"]
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None, ["response body is not UTF-8"]
    try:
        value = json.loads(text, parse_constant=refuse_constant, object_pairs_hook=refuse_repeats)
    except _InvalidJson as error:
        return None, [f"response body is not valid JSON: {error}"]
    except ValueError as error:
        return None, [f"response body is not valid JSON: {error.args[0]}"]
    return value, []


def _is_number(value: object) -> bool:
    # bool is an int in Python but a boolean in JSON.
    if isinstance(value, bool):
        return False
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, int)


def _is_blank(value: str) -> bool:
    return not value.strip()


def _required_string(obj: dict[str, Any], key: str, prefix: str = "") -> list[str]:
    """A present, non-null, non-blank string."""
    if key not in obj:
        return [f"{prefix}{key} is missing"]
    value = obj[key]
    if not isinstance(value, str):
        return [f"{prefix}{key} must be a string, got {json_type(value)}"]
    if _is_blank(value):
        return [f"{prefix}{key} must not be empty"]
    return []


def _absolute_http_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def check_list_tests(payload: Any) -> list[str]:
    """Problems with a decoded list_tests response (reference §1.3).

    Besides the documented types, an empty id or name is refused (the id identifies the
    test, the name is its label in Greenhouse's UI) and so is an id listed twice (the
    Send Test dialog could not tell the two apart).
    """
    if not isinstance(payload, list):
        return [f"response must be a JSON array of tests, got {json_type(payload)}"]
    errors: list[str] = []
    first_index: dict[str, int] = {}
    for index, item in enumerate(payload):
        prefix = f"tests[{index}]."
        if not isinstance(item, dict):
            errors.append(f"tests[{index}] must be an object, got {json_type(item)}")
            continue
        errors += _required_string(item, "partner_test_id", prefix)
        errors += _required_string(item, "partner_test_name", prefix)
        test_id = item.get("partner_test_id")
        if isinstance(test_id, str) and not _is_blank(test_id):
            if test_id in first_index:
                errors.append(
                    f"{prefix}partner_test_id {test_id!r} repeats tests[{first_index[test_id]}]"
                )
            else:
                first_index[test_id] = index
    return errors


def check_send_test(payload: Any) -> list[str]:
    """Problems with a decoded send_test response (reference §1.4).

    The id must be a string: older docs showed a number, the current ones say String.
    """
    if not isinstance(payload, dict):
        return [f"response must be a JSON object, got {json_type(payload)}"]
    return _required_string(payload, "partner_interview_id")


def check_metadata(metadata: Any) -> list[str]:
    """Problems with test_status's `metadata`: null/absent, or a non-nested object whose
    values are all JavaScript primitives (string, number, boolean, null)."""
    if metadata is None:
        return []
    if not isinstance(metadata, dict):
        return [f"metadata must be an object or null, got {json_type(metadata)}"]
    return [
        f"metadata[{key!r}] must be a JavaScript primitive (string, number, boolean or null), "
        f"got {json_type(value)}"
        for key, value in metadata.items()
        if not (value is None or isinstance(value, str | bool) or _is_number(value))
    ]


def check_test_status(payload: Any) -> list[str]:
    """Problems with a decoded test_status response (reference §1.6)."""
    if not isinstance(payload, dict):
        return [f"response must be a JSON object, got {json_type(payload)}"]
    errors = _required_string(payload, "partner_status")

    profile_url = payload.get("partner_profile_url")
    if payload.get("partner_status") == COMPLETE and profile_url is None:
        errors.append(COMPLETE_WITHOUT_PROFILE_URL)
    elif profile_url is not None:
        if not isinstance(profile_url, str):
            errors.append(
                f"partner_profile_url must be a string or null, got {json_type(profile_url)}"
            )
        elif _is_blank(profile_url):
            errors.append("partner_profile_url must not be empty")
        elif not _absolute_http_url(profile_url):
            # Greenhouse shows it as the "View Report" link; it must lead somewhere.
            errors.append("partner_profile_url must be an absolute http(s) URL")

    score = payload.get("partner_score")
    if score is not None and not _is_number(score):
        errors.append(f"partner_score must be a number or null, got {json_type(score)}")

    errors += check_metadata(payload.get("metadata"))
    return errors


_CHECKS = {
    LIST_TESTS: check_list_tests,
    SEND_TEST: check_send_test,
    TEST_STATUS: check_test_status,
}


def check_response(api_call: str, body: bytes) -> CheckedResponse:
    """Decode and check the body of a successful (2xx) response to `api_call`
    ("list_tests", "send_test" or "test_status")."""
    check = _CHECKS[api_call]
    payload, errors = decode_json(body)
    if errors:
        return CheckedResponse(payload=None, errors=errors)
    return CheckedResponse(payload=payload, errors=check(payload))
