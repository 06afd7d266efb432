"""HTTP to Harvest, shared by the v1 and v3 clients: timeouts, the rate budget, status codes
sorted into errors, and following pagination links without ever leaving Greenhouse's host.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import structlog
from yarl import URL

from alooba_common.http_client import retry_after_seconds
from harvest_sync.harvest.errors import HarvestUnavailable, RateLimited, Rejected
from harvest_sync.harvest.ratelimit import RateBudget

log = structlog.get_logger("harvest_sync.harvest")

# When a 429 names no usable Retry-After, wait out a whole window.
_FALLBACK_RETRY_AFTER = 10.0


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    body: Any
    links: Mapping[str, URL]


def error_message(body: Any) -> str:
    """Greenhouse's reason, from {"message", "errors": [{"message", "field"}]} or OAuth's
    {"error"}; never more than a line."""
    if not isinstance(body, Mapping):
        return ""
    parts = []
    if isinstance(body.get("message"), str):
        parts.append(body["message"])
    for item in body.get("errors") or ():
        if isinstance(item, Mapping) and isinstance(item.get("message"), str):
            field = item.get("field")
            parts.append(f"{field}: {item['message']}" if field else item["message"])
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
        budget: RateBudget,
        *,
        timeout: float,
    ) -> None:
        self._http = http
        self.base = URL(base_url.rstrip("/"))
        self.budget = budget
        self._timeout = aiohttp.ClientTimeout(total=timeout)

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
        await self.budget.acquire()
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
            await self.budget.cancel()
            raise HarvestUnavailable(f"Harvest unreachable: {type(error).__name__}") from None

        if status == 429:
            wait = retry_after_seconds(answer_headers.get("Retry-After"), dt.datetime.now(dt.UTC))
            wait = _FALLBACK_RETRY_AFTER if wait is None else max(wait, 0.5)
            await self.budget.pause(wait)
            raise RateLimited(wait)
        await self.budget.release(
            limit=_header_int(answer_headers, "X-RateLimit-Limit"),
            remaining=_header_int(answer_headers, "X-RateLimit-Remaining"),
        )
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        if status >= 500:
            raise HarvestUnavailable(f"Harvest answered {status}", status=status)
        return Answer(status=status, headers=answer_headers, body=parsed, links=links)


def rejected(answer: Answer, what: str) -> Rejected:
    reason = error_message(answer.body) or "no reason given"
    return Rejected(f"{what}: Greenhouse answered {answer.status}: {reason}", status=answer.status)
