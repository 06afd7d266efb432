"""Exceptions raised by the emulator's calls to the partner."""

from __future__ import annotations

from greenhouse_emulator.models import Violation


class PartnerError(Exception):
    """The partner answered a Greenhouse call with a non-2xx status."""

    def __init__(self, api_call: str, status: int, body: bytes) -> None:
        self.api_call = api_call
        self.status = status
        self.body = body
        preview = body[:200].decode("utf-8", "replace")
        super().__init__(f"{api_call}: partner answered {status}: {preview}")


class ContractViolationError(Exception):
    """The partner answered 2xx but the body breaks the contract. The violation has
    already been recorded and reported to the partner's response_error endpoint."""

    def __init__(self, violation: Violation) -> None:
        self.violation = violation
        super().__init__(f"{violation.api_call}: " + "; ".join(violation.errors))
