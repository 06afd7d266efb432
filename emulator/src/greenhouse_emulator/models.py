"""What the emulator sends and what it records: candidates, take-home tests as Greenhouse
would show them, contract violations, callback attempts and webhook deliveries."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Final

Primitive = str | int | float | bool | None

# The api_call names of violations. The first three are Greenhouse's calls to the partner,
# reported to the partner's response_error endpoint as Greenhouse does; the others are
# the emulator's own findings about the partner's requests and are only recorded.
CALLBACK: Final = "callback"
RESPONSE_ERROR: Final = "response_error"

# Before any test_status answer, Greenhouse shows the test as sent.
SENT: Final = "Sent"


@dataclass(frozen=True)
class Candidate:
    """The candidate in a send_test request; defaults are the docs' own example."""

    first_name: str = "Harry"
    last_name: str = "Potter"
    preferred_name: str | None = "The Chosen One"
    email: str = "hpotter@hogwarts.edu"
    phone_number: str | None = "123-456-7890"
    resume_url: str | None = "https://hogwarts.com/resume"
    candidate_id: int = 17681532
    application_id: int = 26234709

    @property
    def greenhouse_profile_url(self) -> str:
        """The candidate's Greenhouse application, in the shape the docs show."""
        return (
            f"https://app.greenhouse.io/people/{self.candidate_id}"
            f"?application_id={self.application_id}"
        )

    def to_send_test(self) -> dict[str, Any]:
        """The `candidate` object of a send_test body; absent values are null."""
        return {
            "first_name": self.first_name,
            "last_name": self.last_name,
            "preferred_name": self.preferred_name,
            "resume_url": self.resume_url,
            "phone_number": self.phone_number,
            "email": self.email,
            "greenhouse_profile_url": self.greenhouse_profile_url,
        }


@dataclass
class TakeHomeTest:
    """One sent test as Greenhouse would show it on the candidate's profile.

    `status` is "Sent" until a valid test_status answer arrives, then the last
    `partner_status` seen. `report_url` is the partner_profile_url, the "View Report" link.
    Invalid test_status answers change nothing here: Greenhouse rejects them.
    """

    take_home_test_id: int
    partner_test_id: str
    partner_test_name: str | None
    partner_interview_id: str
    candidate: Candidate
    sent_by: str | None
    callback_url: str
    status: str = SENT
    score: int | float | None = None
    report_url: str | None = None
    metadata: dict[str, Primitive] | None = None
    callbacks_received: int = 0
    test_status_calls: int = 0

    @property
    def candidate_email(self) -> str:
        """Where the partner was asked to send the test."""
        return self.candidate.email

    @property
    def complete(self) -> bool:
        """True once the partner has reported the test complete."""
        return self.status == "complete"

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready copy, for the inspection endpoint."""
        data = asdict(self)
        data["candidate_email"] = self.candidate_email
        return data


@dataclass
class Violation:
    """A breach of the contract by the partner.

    `report_status` is what the partner's response_error endpoint answered when the
    violation was reported to it (None: not reported, or the report did not get through).
    """

    api_call: str
    errors: list[str]
    partner_interview_id: str | None = None
    partner_test_id: str | None = None
    partner_test_name: str | None = None
    candidate_email: str | None = None
    take_home_test_id: int | None = None
    report_status: int | None = None

    def report_body(self) -> dict[str, Any]:
        """The body Greenhouse POSTs to response_error: for list_tests only `api_call`
        and `errors`, otherwise every field, null when unknown."""
        body: dict[str, Any] = {"api_call": self.api_call, "errors": list(self.errors)}
        if self.api_call != "list_tests":
            body |= {
                "partner_test_id": self.partner_test_id,
                "partner_test_name": self.partner_test_name,
                "partner_interview_id": self.partner_interview_id,
                "candidate_email": self.candidate_email,
            }
        return body

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready copy, for the inspection endpoint."""
        return asdict(self)


@dataclass(frozen=True)
class CallbackAttempt:
    """One request the partner made to a callback URL, and the emulator's answer.

    `at` is time.monotonic(), so tests can measure the partner's backoff.
    """

    take_home_test_id: int | None
    method: str
    status: int
    authorized: bool
    at: float

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready copy, for the inspection endpoint."""
        return asdict(self)


@dataclass(frozen=True)
class WebhookAttempt:
    """One POST of a webhook delivery and how it ended: the partner's `status`, or the
    `error` (timeout, connection failure) when there was no answer.

    `at` is time.monotonic() when the request was sent; `waited` is the (scaled) delay
    slept before it, per Greenhouse's retry schedule.
    """

    number: int
    at: float
    waited: float
    status: int | None = None
    error: str | None = None

    @property
    def succeeded(self) -> bool:
        """Only exactly 200 counts: the docs call any non-200 answer a failure."""
        return self.status == 200

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready copy, for the inspection endpoint."""
        return asdict(self)


@dataclass
class WebhookDelivery:
    """One webhook event and every attempt to deliver it. The body, its signature and
    the Greenhouse-Event-ID stay the same across retries.

    `finished` turns true when no attempt is left to make (delivered, out of attempts,
    or cancelled); `delivered` when an attempt got a 200.
    """

    event_id: str
    action: str | None
    url: str
    body: bytes
    headers: dict[str, str]
    attempts: list[WebhookAttempt] = field(default_factory=list)
    delivered: bool = False
    finished: bool = False

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready copy, for the inspection endpoint (the body as text)."""
        return {
            "event_id": self.event_id,
            "action": self.action,
            "url": self.url,
            "body": self.body.decode("utf-8", "replace"),
            "headers": dict(self.headers),
            "attempts": [attempt.to_json() for attempt in self.attempts],
            "delivered": self.delivered,
            "finished": self.finished,
        }


@dataclass(frozen=True)
class RawResponse:
    """A partner response as received."""

    status: int
    # Case-insensitive when it comes from aiohttp.
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    def json(self) -> Any:
        """The body decoded as JSON (raises ValueError when it is not)."""
        return json.loads(self.body)
