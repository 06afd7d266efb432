"""What the Harvest emulator observed, for tests to assert on."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class HarvestRequest:
    """One Harvest API request and its answer. `credential` is the key id (v1) or client
    id (v3), never a secret (None when the request did not authenticate);
    `on_behalf_of` is the acting user (v1: the On-Behalf-Of header when it is an integer;
    v3: the token's sub). `fault` is "injected" for an injected failure answered without
    touching Greenhouse, "timeout" for a request that was applied but answered only after
    the hang: its `status` is 0 (the client, having timed out, got no answer) and
    `late_status` is what was sent after the hang. `token` is the v3 token's number."""

    at: float
    credential: str | None
    method: str
    path: str
    status: int
    on_behalf_of: int | None
    version: str = ""
    query: str = ""
    fault: str | None = None
    late_status: int | None = None
    # v3: the number of the bearer token used (TokenRequest.token_number), never the token.
    token: int | None = None


@dataclass(frozen=True)
class TokenRequest:
    """One `POST /token` and its answer (not a Harvest API request: not rate limited, not
    faulted, not in `requests`)."""

    at: float
    client_id: str | None
    grant_type: str | None
    sub: str | None
    status: int
    # The number of the token issued (1, 2, ... in the emulator's order), None if refused.
    token_number: int | None = None


@dataclass(frozen=True)
class HarvestStats:
    """A summary of `requests`: how many, by status (0: a timeout fault), how many 429s,
    and the most requests one credential had counted against the limit inside one rate
    window."""

    total: int
    by_status: dict[int, int]
    rate_limited: int
    max_in_window: int

    @classmethod
    def of(cls, requests: Iterable[HarvestRequest], max_in_window: int) -> HarvestStats:
        """The summary of `requests`."""
        by_status = Counter(request.status for request in requests)
        return cls(
            total=sum(by_status.values()),
            by_status=dict(sorted(by_status.items())),
            rate_limited=by_status.get(429, 0),
            max_in_window=max_in_window,
        )
