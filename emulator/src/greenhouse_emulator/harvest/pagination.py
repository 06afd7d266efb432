"""Harvest's three ways of paging a list (reference §3.5 and §3.1):

- classic (v1 List Users): `page`, `per_page` and `skip_count`, with a Link header of
  `next`, `prev` and `last`, left out when there is only one page;
- next-only (v1 "new-style" endpoints such as List Custom Fields): `page`/`per_page` with
  only a `next` link;
- cursor (v3, harvest-v3-facts.md row 13 and E18): `per_page` on the first request only,
  then an opaque `cursor` that "must be the only query parameter"; "only a next link";
  pages "in descending id order".

Links are absolute URLs on the emulator's base URL and keep the request's other query
parameters (filters), with `page` and `per_page` first as in the docs' example.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from multidict import MultiMapping
from yarl import URL

from greenhouse_emulator.harvest.answers import HarvestError, field_error, validation_error

DEFAULT_PER_PAGE: Final = 100
MAX_PER_PAGE: Final = 500
T = TypeVar("T")


def _positive(query: MultiMapping[str], name: str, default: int, maximum: int | None) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    value = int(raw) if raw.isascii() and raw.isdigit() else 0
    if value < 1 or (maximum is not None and value > maximum):
        bounds = f"between 1 and {maximum}" if maximum is not None else "at least 1"
        raise validation_error([field_error(f"{name} must be an integer {bounds}", name)])
    return value


def per_page(query: MultiMapping[str]) -> int:
    """`per_page`: 1-500, default 100; a 422 otherwise."""
    return _positive(query, "per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE)


def page(query: MultiMapping[str]) -> int:
    """`page`: 1 or more, default 1; a 422 otherwise."""
    return _positive(query, "page", 1, None)


def link(rel: str, url: URL) -> str:
    """One Link header element."""
    return f'<{url}>; rel="{rel}"'


def _page_url(base: URL, query: MultiMapping[str], page_number: int, size: int) -> URL:
    others = [(k, v) for k, v in query.items() if k not in ("page", "per_page")]
    return base.with_query([("page", str(page_number)), ("per_page", str(size)), *others])


@dataclass(frozen=True)
class Page:
    """The items to answer with and the Link header (None: no header)."""

    items: list[Any]
    link: str | None


def classic(items: Sequence[T], query: MultiMapping[str], base: URL) -> Page:
    """Classic pagination of `items` for a request to `base` with `query`."""
    size, number = per_page(query), page(query)
    last = max(1, -(-len(items) // size))
    links = []
    if number < last:
        links.append(link("next", _page_url(base, query, number + 1, size)))
    if number > 1:
        links.append(link("prev", _page_url(base, query, min(number - 1, last), size)))
    if query.get("skip_count", "").lower() != "true" and (last > 1 or number > 1):
        links.append(link("last", _page_url(base, query, last, size)))
    chunk = list(items[(number - 1) * size : number * size])
    return Page(chunk, ", ".join(links) if links else None)


def next_only(items: Sequence[T], query: MultiMapping[str], base: URL) -> Page:
    """New-style v1 pagination: only a `next` link, when there is more."""
    size, number = per_page(query), page(query)
    chunk = list(items[(number - 1) * size : number * size])
    more = len(items) > number * size
    return Page(chunk, link("next", _page_url(base, query, number + 1, size)) if more else None)


# Row 13: breaking the rule "returns 422 {"errors":["When passing a cursor, do not include
# other query params."]}".
CURSOR_NOT_ALONE: Final = {"errors": ["When passing a cursor, do not include other query params."]}


@dataclass(frozen=True)
class CursorState:
    """What a cursor stands for: the list (path and filters), the page size, and the id
    of the last item already answered (keyset paging, ids descending: records created
    meanwhile are neither skipped nor repeated)."""

    path: str
    query: tuple[tuple[str, str], ...]
    per_page: int
    before_id: int


class CursorStore:
    """Opaque cursors. They stay valid (a client may repeat a page after a timeout)."""

    def __init__(self) -> None:
        self._cursors: dict[str, CursorState] = {}

    def issue(self, state: CursorState) -> str:
        """A new opaque cursor for `state`."""
        cursor = secrets.token_urlsafe(18)
        self._cursors[cursor] = state
        return cursor

    def resolve(self, query: MultiMapping[str], path: str) -> CursorState | None:
        """The state a request's `cursor` stands for (None when the request has none);
        422 when the cursor comes with other parameters, or is unknown or another list's."""
        if "cursor" not in query:
            return None
        if len(query) != 1:
            raise HarvestError(422, dict(CURSOR_NOT_ALONE))
        state = self._cursors.get(query["cursor"])
        if state is None or state.path != path:
            raise HarvestError(422, {"message": "Invalid cursor"})
        return state


def before_id(items: Sequence[dict[str, Any]], last_id: int | None) -> list[dict[str, Any]]:
    """The items in descending id order that come after `last_id` (all for None)."""
    ordered = sorted(items, key=lambda item: item["id"], reverse=True)
    return [item for item in ordered if last_id is None or item["id"] < last_id]
