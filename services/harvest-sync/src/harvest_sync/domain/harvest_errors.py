"""What can go wrong talking to Harvest, sorted by what the caller should do about it."""

from __future__ import annotations


class HarvestError(Exception):
    """Greenhouse answered with an error, or could not be reached."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class HarvestUnavailable(HarvestError):
    """A timeout, a connection failure or a 5xx: worth retrying with backoff."""


class RateLimited(HarvestError):
    """A 429: wait `retry_after` seconds (Greenhouse's Retry-After) before the next call."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"Greenhouse answered 429; retry after {retry_after:g} s", status=429)
        self.retry_after = retry_after


class CredentialRefused(HarvestError):
    """The credential itself is refused (an invalid key, or a bad OAuth client)."""


class BudgetExhausted(HarvestError):
    """Our own rate budget has no slot for a while: try again in `retry_after` seconds
    (nothing was sent)."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"the Harvest rate budget is spent; a slot in {retry_after:.1f} s")
        self.retry_after = retry_after


class PermissionMissing(HarvestError):
    """The credential lacks the endpoint permission (or v3 scope) a call needs. For v3,
    unless Greenhouse named the scope, a 403 may also mean that the user the request
    acted as is not a Site Admin (harvest-v3-facts.md rows 34-35): `ambiguous`."""

    def __init__(
        self,
        permission: str,
        *,
        status: int,
        ambiguous: bool = False,
        acting_user_id: int | None = None,
    ) -> None:
        if ambiguous:
            who = "the service account" if acting_user_id is None else f"user {acting_user_id}"
            message = (
                f"Greenhouse answered {status}: missing scope {permission}, or the acting user "
                f"({who}) is not a Site Admin"
            )
        else:
            message = f"the Harvest credential lacks {permission!r}"
        super().__init__(message, status=status)
        self.permission = permission
        self.ambiguous = ambiguous


class SubjectRefused(HarvestError):
    """Greenhouse would not issue a v3 token acting as that user (`sub`): not an active
    user of the organization."""


class Rejected(HarvestError):
    """Any other 4xx (a deleted application, a validation error, no access to the record):
    the same request will not succeed by being repeated."""
