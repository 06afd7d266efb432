"""What the Harvest emulator answers: an `Answer` (status, JSON body, headers), and
`HarvestError` to abandon a request with one from anywhere in the pipeline.

The bodies are Harvest's (reference §3.6): `{"message": ...}`, and for validation
`{"message": "Validation error", "errors": [{"message": ..., "field": ...}]}`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

VALIDATION: Final = "Validation error"
NOT_FOUND_BODY: Final = {"message": "Resource not found"}
NO_ACCESS_BODY: Final = {"message": "You don't have access to that record."}


@dataclass(frozen=True)
class Answer:
    """An HTTP answer with a JSON body."""

    status: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)


class HarvestError(Exception):
    """Stop handling the request and answer with `answer`."""

    def __init__(self, status: int, body: Any, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(f"{status} {body}")
        self.answer = Answer(status, body, dict(headers or {}))

    @property
    def message(self) -> str:
        """A one-line description, for ValueErrors raised by the Python API."""
        body = self.answer.body
        if isinstance(body, dict):
            errors = body.get("errors")
            if isinstance(errors, list) and errors:
                return "; ".join(
                    f"{error.get('field')}: {error.get('message')}" for error in errors
                )
            return str(body.get("message", body))
        return str(body)


def field_error(message: str, field_name: str) -> dict[str, str]:
    """One element of a validation error's `errors`."""
    return {"message": message, "field": field_name}


def validation_error(errors: list[dict[str, str]]) -> HarvestError:
    """A 422 with Harvest's validation body."""
    return HarvestError(422, {"message": VALIDATION, "errors": errors})


def not_found() -> HarvestError:
    """Harvest's 404."""
    return HarvestError(404, dict(NOT_FOUND_BODY))


def no_access() -> HarvestError:
    """Harvest's 403 (reference §3.6)."""
    return HarvestError(403, dict(NO_ACCESS_BODY))


# --- v3's error bodies (harvest-v3-facts.md E4) ------------------------------------------
# "Harvest v3: {"message": …, "errors": [<string> | {"<field>": "<msg>"}]}, e.g.
# {"message":"Unprocessable Content","errors":[{"per_page":"…"}]}"; 401
# {"message":"Unauthorized","errors":["Token could not be decoded…"]}; 404
# {"message":"Resource not found"}.
V3_UNAUTHORIZED: Final = {"message": "Unauthorized", "errors": ["Token could not be decoded"]}
V3_UNPROCESSABLE: Final = "Unprocessable Content"
# Row 35: the body of a v3 403 was never observed; "opaque" plays one that says nothing.
V3_FORBIDDEN: Final = {"message": "Forbidden"}


def v3_unprocessable(errors: list[dict[str, str]]) -> HarvestError:
    """A v3 422 whose errors are `{"<field>": "<message>"}`."""
    return HarvestError(422, {"message": V3_UNPROCESSABLE, "errors": errors})


def in_v3_shape(answer: Answer) -> Answer:
    """A 422 built with v1's `{"message": "Validation error", "errors": [{"message",
    "field"}]}` (the record rules v1 and v3 share), in v3's shape (E4)."""
    body = answer.body
    if answer.status != 422 or not isinstance(body, dict) or body.get("message") != VALIDATION:
        return answer
    errors = [
        {str(error.get("field")): error.get("message")}
        for error in body.get("errors") or ()
        if isinstance(error, dict)
    ]
    return Answer(422, {"message": V3_UNPROCESSABLE, "errors": errors}, answer.headers)
