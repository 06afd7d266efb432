"""Harvest v1 (reference §3.2-§3.11): Basic auth with the API key, permissions per key
(401 when one is missing, as the docs' error table says), the acting user of a write in
`On-Behalf-Of`, classic or next-only pagination."""

from __future__ import annotations

import re
from typing import Any, Final

from multidict import MultiMapping
from yarl import URL

from greenhouse_emulator.harvest import pagination
from greenhouse_emulator.harvest.answers import (
    NO_ACCESS_BODY,
    Answer,
    field_error,
    validation_error,
)
from greenhouse_emulator.harvest.endpoints import V1_ENDPOINTS
from greenhouse_emulator.harvest.ratelimit import RateLimiter
from greenhouse_emulator.harvest.routing import (
    Endpoint,
    Headers,
    Pager,
    Principal,
    acting_site_admin,
)
from greenhouse_emulator.harvest.service import Service

INVALID_CREDENTIALS: Final = {"message": "Invalid Basic Auth credentials"}
MISSING_PERMISSION: Final = {
    "message": "This API Key does not have permission for this endpoint. "
    "Please contact your Greenhouse administrator."
}
ON_BEHALF_OF: Final = "On-Behalf-Of"
_INTEGER: Final = re.compile(r"[0-9]+")


class _V1Pager:
    def __init__(self, style: str, base: URL, query: MultiMapping[str]) -> None:
        # Checked before the list is built: a bad per_page is a 422 whatever the filters.
        pagination.per_page(query)
        pagination.page(query)
        self._style = style
        self._base = base
        self._query = query

    @property
    def query(self) -> MultiMapping[str]:
        return self._query

    def answer(self, items: list[dict[str, Any]]) -> Answer:
        paginate = pagination.classic if self._style == "classic" else pagination.next_only
        page = paginate(items, self._query, self._base)
        return Answer(200, page.items, {"Link": page.link} if page.link else {})


class V1:
    """The v1 rules (ApiVersion)."""

    name = "v1"
    prefix = "/v1"
    endpoints: tuple[Endpoint, ...] = V1_ENDPOINTS

    def authenticate(self, service: Service, headers: Headers, now: float) -> Principal | Answer:
        key = service.credentials.v1_key(headers.get("Authorization"))
        if key is None:
            return Answer(401, dict(INVALID_CREDENTIALS))
        return Principal(key.key_id, key.permissions)

    def identify(self, service: Service, headers: Headers, now: float) -> str | None:
        key = service.credentials.v1_key(headers.get("Authorization"))
        return key.key_id if key is not None else None

    def limiter(self, service: Service) -> tuple[RateLimiter, float]:
        return service.limiter, service.settings.rate_window_seconds

    def refusal(self, service: Service, endpoint: Endpoint, principal: Principal) -> Answer | None:
        if endpoint.grant in principal.grants:
            return None
        return Answer(401, dict(MISSING_PERMISSION))

    def read_refusal(
        self, service: Service, endpoint: Endpoint, principal: Principal, query: MultiMapping[str]
    ) -> Answer | None:
        return None  # a v1 key reads everything its permissions allow, unknown filters ignored

    def shaped(self, answer: Answer) -> Answer:
        return answer

    def acting_user(self, service: Service, principal: Principal, headers: Headers) -> int:
        user_id = self.on_behalf_of(principal, headers)
        user = service.organisation.users.get(user_id) if user_id is not None else None
        if user_id is None or user is None or user.disabled:
            raise validation_error(
                [
                    field_error(
                        "On-Behalf-Of must be the id of an active Greenhouse user", ON_BEHALF_OF
                    )
                ]
            )
        return acting_site_admin(service.organisation, user_id, Answer(403, dict(NO_ACCESS_BODY)))

    def on_behalf_of(self, principal: Principal | None, headers: Headers) -> int | None:
        raw = headers.get(ON_BEHALF_OF, "").strip()
        return int(raw) if _INTEGER.fullmatch(raw) else None

    def pager(
        self, service: Service, endpoint: Endpoint, path: str, query: MultiMapping[str]
    ) -> Pager:
        return _V1Pager(endpoint.paging or "next", URL(service.base_url + path), query)
