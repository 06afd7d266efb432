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


class PermissionMissing(HarvestError):
    """The credential lacks the endpoint permission (or v3 scope) a call needs."""

    def __init__(self, permission: str, *, status: int) -> None:
        super().__init__(f"the Harvest credential lacks {permission!r}", status=status)
        self.permission = permission


class Rejected(HarvestError):
    """Any other 4xx (a deleted application, a validation error, no access to the record):
    the same request will not succeed by being repeated."""
