"""What the v1 and v3 clients share: sending a call (and sending it once more when the
version says so, say after renewing a v3 token) and following a list's pages.

A subclass says how a request is authenticated and made as someone (`_headers`), how to
follow pagination (`_next_page`), and how it is told that a permission is missing
(`_refused`).
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import Any

from yarl import URL

from harvest_sync.domain.harvest_errors import HarvestError
from harvest_sync.outbound.harvest.transport import Answer, Transport, rejected

# A runaway pagination (a link loop) must not run forever.
_MAX_PAGES = 1000


def number_field(name: str, description: str) -> dict[str, Any]:
    """The body that creates one of our fields: an application field of type number, so
    that recruiters can filter on it (v1 and v3 alike, row 23)."""
    return {
        "name": name,
        "description": description,
        "field_type": "application",
        "value_type": "number",
        "private": False,
    }


class HarvestClient(abc.ABC):
    mode: str

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    # --- what a version decides -----------------------------------------------------

    @abc.abstractmethod
    async def _headers(self, acting_user_id: int | None) -> dict[str, str]:
        """Authorization (and On-Behalf-Of) for a request made as that user."""

    @abc.abstractmethod
    async def _refused(
        self,
        answer: Answer,
        permission: str,
        acting_user_id: int | None,
        *,
        sent_headers: Mapping[str, str],
        retried: bool,
    ) -> bool:
        """Called on a 401 or 403. Raises when the answer says the credential or permission
        was refused; returns True when the request should be sent once more (v3, after
        renewing the token); False leaves the answer to the caller."""

    @abc.abstractmethod
    def _next_page(self, answer: Answer) -> URL | None:
        """The next page's URL, or None on the last page."""

    # --- calls ----------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        url: URL,
        *,
        permission: str,
        acting_user_id: int | None = None,
        json_body: Any = None,
    ) -> Answer:
        retried = False
        while True:
            headers = await self._headers(acting_user_id)
            answer = await self._transport.send(method, url, headers=headers, json_body=json_body)
            if answer.status in (401, 403) and await self._refused(
                answer, permission, acting_user_id, sent_headers=headers, retried=retried
            ):
                retried = True
                continue
            return answer

    async def _list(
        self, url: URL, permission: str, *, as_user: int | None = None
    ) -> list[Mapping[str, Any]]:
        items: list[Mapping[str, Any]] = []
        next_url: URL | None = url
        for _ in range(_MAX_PAGES):
            if next_url is None:
                return items
            answer = await self._call(
                "GET", next_url, permission=permission, acting_user_id=as_user
            )
            if answer.status != 200 or not isinstance(answer.body, list):
                raise rejected(answer, f"listing {url.path}")
            items.extend(item for item in answer.body if isinstance(item, Mapping))
            next_url = self._next_page(answer)
            if next_url is not None and not self._transport.same_origin(next_url):
                raise HarvestError(f"a pagination link left Greenhouse: {next_url.origin()}")
        raise HarvestError(f"more than {_MAX_PAGES} pages from {url.path}")
