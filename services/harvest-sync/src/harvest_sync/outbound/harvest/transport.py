"""HTTP to Harvest, shared by the v1 and v3 clients: timeouts, the rate budget, status codes
sorted into errors, and following pagination links without ever leaving Greenhouse's host.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import structlog
from yarl import URL

from alooba_common.http_client import retry_after_seconds
from harvest_sync.domain.harvest_errors import HarvestUnavailable, RateLimited, Rejected
from harvest_sync.domain.harvest_ratelimit import Budget

log = structlog.get_logger("harvest_sync.harvest")


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    body: Any
    links: Mapping[str, URL]


def error_message(body: Any) -> str:
    """Greenhouse's reason, never more than a line, from v1's {"message", "errors":
    [{"message", "field"}]}, v3's {"message", "errors": [<string> | {"<field>": "<msg>"}]}
    (harvest-v3-facts.md E4) or OAuth's {"error"}."""
    if not isinstance(body, Mapping):
        return ""
    parts = []
    if isinstance(body.get("message"), str):
        parts.append(body["message"])
    errors = body.get("errors")
    for item in errors if isinstance(errors, list) else ():
        if isinstance(item, str):
            parts.append(item)
        elif isinstance(item, Mapping) and isinstance(item.get("message"), str):
            field = item.get("field")
            parts.append(f"{field}: {item['message']}" if field else item["message"])
        elif isinstance(item, Mapping):
            parts.extend(f"{field}: {message}" for field, message in item.items())
    if isinstance(body.get("error"), str):
        parts.append(body["error"])
    return "; ".join(parts)[:500]


def _header_int(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name, "").strip()
    return int(value) if value.isascii() and value.isdigit() else None


class Transport:
    def __init__(
        self,
        http: aiohttp.ClientSession,
        base_url: str,
        budget: Budget,
        *,
        timeout: float,
        window_seconds: float,
        budget_wait_seconds: float | None = None,
    ) -> None:
        self._http = http
        self.base = URL(base_url.rstrip("/"))
        self.budget = budget
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        # When a 429 names no usable Retry-After (nor X-RateLimit-Reset), wait a window.
        self._window = window_seconds
        # How long a request may wait for a slot before the caller is told to come back
        # (BudgetExhausted): a push must not outlive its queue lease waiting.
        self._budget_wait = budget_wait_seconds

    def url(self, path: str) -> URL:
        return self.base.with_path(path)

    def same_origin(self, link: URL) -> bool:
        return link.origin() == self.base.origin()

    async def send(
        self,
        method: str,
        url: URL,
        *,
        headers: Mapping[str, str],
        json_body: Any = None,
    ) -> Answer:
        """One request within the rate budget. 429 → RateLimited (the budget pauses);
        5xx and network failures → HarvestUnavailable; everything else is returned."""
        slot = await self.budget.acquire(within=self._budget_wait)
        body = None if json_body is None else json.dumps(json_body).encode()
        request_headers = {"Accept": "application/json", **headers}
        if body is not None:
            request_headers["Content-Type"] = "application/json"
        try:
            async with self._http.request(
                method,
                url,
                data=body,
                headers=request_headers,
                timeout=self._timeout,
                allow_redirects=False,
            ) as response:
                raw = await response.read()
                status = response.status
                answer_headers = dict(response.headers)
                links: dict[str, URL] = {}
                for rel, link in response.links.items():
                    target = link.get("url")
                    if isinstance(target, URL):
                        links[str(rel)] = target
        except (TimeoutError, aiohttp.ClientError) as error:
            await self.budget.unanswered(slot)
            raise HarvestUnavailable(f"Harvest unreachable: {type(error).__name__}") from None

        reset_in = _reset_in(answer_headers)
        if status == 429:
            wait = retry_after_seconds(answer_headers.get("Retry-After"), dt.datetime.now(dt.UTC))
            if wait is None:
                wait = reset_in if reset_in is not None else self._window
            wait = max(wait, 0.5)
            await self.budget.refused(slot, wait)
            raise RateLimited(wait)
        await self.budget.answered(
            slot,
            limit=_header_int(answer_headers, "X-RateLimit-Limit"),
            remaining=_header_int(answer_headers, "X-RateLimit-Remaining"),
            reset_in=reset_in,
        )
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        if status >= 500:
            raise HarvestUnavailable(f"Harvest answered {status}", status=status)
        return Answer(status=status, headers=answer_headers, body=parsed, links=links)


def _reset_in(headers: Mapping[str, str]) -> float | None:
    """Seconds until Greenhouse's window resets: X-RateLimit-Reset is UTC epoch seconds
    (harvest-v3-facts.md row 39). Whole seconds: the reset may be up to one later."""
    reset = _header_int(headers, "X-RateLimit-Reset")
    if reset is None:
        return None
    return max(reset + 1 - time.time(), 0.0)


def rejected(answer: Answer, what: str) -> Rejected:
    reason = error_message(answer.body) or "no reason given"
    return Rejected(f"{what}: Greenhouse answered {answer.status}: {reason}", status=answer.status)
