"""Harvest v3 and its OAuth token endpoint, following `../shared/reference/
harvest-v3-facts.md` row by row (rows and E-numbers are named where they apply). Where a
fact is still unconfirmed, `V3Behaviour` (behaviour.py) says which reading the emulator
plays; its defaults are the worst ones for a client.

- Token endpoint (row 10): `POST /token`, HTTP Basic client_id:client_secret, form
  `grant_type=client_credentials` (E11: also accepted in the query) and `sub` (row 11: the
  acting user; without it, the service account). The client id carries a `-<n>` suffix
  and a malformed one is a 400 (E11). Errors (E4): 401 `{"error": "invalid_client"}`,
  400 `{"message", "errorId"}`. No refresh token (E11). Tokens live an hour (row 37) and
  carry `expires_in` and/or `expires_at`, and `scope` or not (row 36); minting may revoke
  the client's earlier token for the same `sub` (E12).
- Bearer tokens (row 12); a bad one is a 401 `{"message": "Unauthorized", ...}` (E4).
- Routes before authentication (E15): an unknown path is a 404 `{"message": "Resource
  not found"}` even without a token.
- Scopes (rows 29-34): each endpoint needs one; lacking it is a 403 (row 34) whose body is
  unconfirmed (row 35). Scopes removed are enforced at once, added ones need a new token
  (E16).
- Reads (E6): "GET endpoints are only accessible by site admin users. All other user
  types will not return results." Writes act as `sub`, who must be a Site Admin (the
  service account cannot write).
- Unknown query parameters are refused with 422 (E3), or ignored.
- Cursor pagination (row 13, E18): `per_page` 1-500 on the first request, then the cursor
  alone; only a `next` link; ids descending.
- Rate limit (rows 39-40): a fixed window (30 s) per client, all three headers on every
  answer.
- No idempotency key (E5), or an `Idempotency-Key` header honoured.
"""

from __future__ import annotations

import datetime
import math
import re
import time
import uuid
from typing import Any, Final

from aiohttp import web
from multidict import MultiDict, MultiMapping
from yarl import URL

from greenhouse_emulator.harvest import pagination
from greenhouse_emulator.harvest.answers import (
    NO_ACCESS_BODY,
    V3_FORBIDDEN,
    V3_UNAUTHORIZED,
    Answer,
    HarvestError,
    in_v3_shape,
    v3_unprocessable,
)
from greenhouse_emulator.harvest.auth import V3Client, basic_credentials
from greenhouse_emulator.harvest.endpoints import V3_ENDPOINTS
from greenhouse_emulator.harvest.permissions import ALL_SCOPES
from greenhouse_emulator.harvest.ratelimit import FixedWindowLimiter
from greenhouse_emulator.harvest.records import TokenRequest
from greenhouse_emulator.harvest.routing import (
    Endpoint,
    Headers,
    Pager,
    Principal,
    acting_site_admin,
)
from greenhouse_emulator.harvest.service import Service

TOKEN_PATH: Final = "/token"  # noqa: S105 - a path, not a secret
IDEMPOTENCY_KEY: Final = "Idempotency-Key"
_INTEGER: Final = re.compile(r"[0-9]+")
_CLIENT_ID: Final = re.compile(r".+-[0-9]+")


class _CursorPager:
    def __init__(self, service: Service, path: str, query: MultiMapping[str]) -> None:
        self._service = service
        self._path = path
        state = service.cursors.resolve(query, path)
        if state is None:
            self._size = pagination.per_page(query)
            self._before: int | None = None
            self._query: MultiMapping[str] = query
        else:
            self._size = state.per_page
            self._before = state.before_id
            self._query = MultiDict(state.query)

    @property
    def query(self) -> MultiMapping[str]:
        return self._query

    def answer(self, items: list[dict[str, Any]]) -> Answer:
        remaining = pagination.before_id(items, self._before)
        chunk = remaining[: self._size]
        if len(remaining) <= self._size:
            return Answer(200, chunk)
        cursor = self._service.cursors.issue(
            pagination.CursorState(
                path=self._path,
                query=tuple((k, v) for k, v in self._query.items() if k != "per_page"),
                per_page=self._size,
                before_id=chunk[-1]["id"],
            )
        )
        url = URL(self._service.base_url + self._path).with_query({"cursor": cursor})
        return Answer(200, chunk, {"Link": pagination.link("next", url)})


def _forbidden(service: Service, scope: str | None) -> Answer:
    """A v3 403: for a missing scope or for an acting user who is not a Site Admin."""
    if service.settings.v3.forbidden_body == "opaque":
        return Answer(403, dict(V3_FORBIDDEN))
    if scope is None:
        return Answer(403, dict(NO_ACCESS_BODY))
    return Answer(
        403,
        {"error": "insufficient_scope", "scope": scope},
        {"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'},
    )


def _is_site_admin(service: Service, sub: int | None) -> bool:
    if sub is None:
        return service.settings.v3.service_account_reads
    user = service.organisation.users.get(sub)
    return user is not None and user.site_admin and not user.disabled


class V3:
    """The v3 rules (ApiVersion)."""

    name = "v3"
    prefix = "/v3"
    endpoints: tuple[Endpoint, ...] = V3_ENDPOINTS

    def authenticate(self, service: Service, headers: Headers, now: float) -> Principal | Answer:
        token = service.credentials.access_token(
            headers.get("Authorization"), service.token_clock()
        )
        if token is None:
            return Answer(401, dict(V3_UNAUTHORIZED))
        if token.sub is not None:
            user = service.organisation.users.get(token.sub)
            if user is None or user.disabled:
                return Answer(401, dict(V3_UNAUTHORIZED))
        return Principal(
            token.client_id, service.credentials.live_scopes(token), token.sub, token.number
        )

    def identify(self, service: Service, headers: Headers, now: float) -> str | None:
        token = service.credentials.access_token(
            headers.get("Authorization"), service.token_clock()
        )
        return token.client_id if token is not None else None

    def limiter(self, service: Service) -> tuple[FixedWindowLimiter, float]:
        return service.v3_limiter, service.settings.v3_rate_window_seconds

    def refusal(self, service: Service, endpoint: Endpoint, principal: Principal) -> Answer | None:
        if endpoint.grant in principal.grants:
            return None
        return _forbidden(service, endpoint.grant)

    def read_refusal(
        self, service: Service, endpoint: Endpoint, principal: Principal, query: MultiMapping[str]
    ) -> Answer | None:
        behaviour = service.settings.v3
        known = endpoint.parameters
        unknown = sorted(name for name in query if name not in known)
        if unknown and behaviour.unknown_query_parameters == "reject":
            raise v3_unprocessable([{name: "is not a supported parameter"} for name in unknown])
        if _is_site_admin(service, principal.sub):
            return None
        if behaviour.non_admin_reads == "empty":
            return Answer(200, [])
        return _forbidden(service, None)

    def acting_user(self, service: Service, principal: Principal, headers: Headers) -> int:
        refused = _forbidden(service, None)
        if principal.sub is None:  # the service account: writes act as a user (row 11)
            raise HarvestError(refused.status, refused.body, refused.headers)
        return acting_site_admin(service.organisation, principal.sub, refused)

    def on_behalf_of(self, principal: Principal | None, headers: Headers) -> int | None:
        return principal.sub if principal is not None else None

    def pager(
        self, service: Service, endpoint: Endpoint, path: str, query: MultiMapping[str]
    ) -> Pager:
        return _CursorPager(service, path, query)

    def shaped(self, answer: Answer) -> Answer:
        return in_v3_shape(answer)


# --- the token endpoint -----------------------------------------------------------------


def _token_error(status: int, message: str) -> web.Response:
    """E4: the token endpoint's 400s are `{"message": …, "errorId": …}`."""
    body = {"message": message, "errorId": str(uuid.uuid4())}
    return web.json_response(body, status=status, headers={"Cache-Control": "no-store"})


def _invalid_client() -> web.Response:
    return web.json_response(
        {"error": "invalid_client"}, status=401, headers={"Cache-Control": "no-store"}
    )


async def token_endpoint(service: Service, request: web.Request) -> web.Response:
    """`POST /token`, the client credentials grant. Never rate limited or faulted."""
    now = time.monotonic()
    form = await request.post()
    grant_type = form.get("grant_type", request.query.get("grant_type"))
    raw_sub = form.get("sub")
    grant = grant_type if isinstance(grant_type, str) else None
    sub_text = raw_sub if isinstance(raw_sub, str) else None
    client_id, response, number = _token_answer(
        service, request.headers, grant, sub_text, service.token_clock()
    )
    service.token_requests.append(
        TokenRequest(
            at=now,
            client_id=client_id,
            grant_type=grant,
            sub=sub_text,
            status=response.status,
            token_number=number,
        )
    )
    return response


def _token_answer(
    service: Service, headers: Headers, grant_type: str | None, raw_sub: str | None, now: float
) -> tuple[str | None, web.Response, int | None]:
    """(the client id, the answer, the number of the token issued)."""
    credentials = basic_credentials(headers.get("Authorization"))
    if credentials is not None and not _CLIENT_ID.fullmatch(credentials[0]):
        return None, _token_error(400, "The client id is malformed"), None
    client = service.credentials.v3_client(headers.get("Authorization"))
    if client is None:
        return None, _invalid_client(), None
    if grant_type != "client_credentials":
        return client.client_id, _token_error(400, "grant_type must be client_credentials"), None
    sub: int | None = None
    if raw_sub is not None:
        user_id = int(raw_sub.strip()) if _INTEGER.fullmatch(raw_sub.strip()) else None
        user = service.organisation.users.get(user_id) if user_id is not None else None
        if user is None or user.disabled:
            return client.client_id, _token_error(400, "sub must be the id of an active user"), None
        sub = user.id
    response, number = _issue(service, client, sub, now)
    return client.client_id, response, number


def _issue(
    service: Service, client: V3Client, sub: int | None, now: float
) -> tuple[web.Response, int]:
    settings = service.settings
    behaviour = settings.v3
    lifetime = settings.token_lifetime_seconds
    token = service.credentials.issue_token(
        client,
        sub,
        client.scopes,
        lifetime,
        now,
        revoke_previous=behaviour.revocation == "per_sub",
    )
    body: dict[str, Any] = {"access_token": token.token, "token_type": "Bearer"}
    if behaviour.expiry_field in ("expires_in", "both"):
        body["expires_in"] = max(0, math.ceil(lifetime))
    if behaviour.expiry_field in ("expires_at", "both"):
        expires = datetime.datetime.fromtimestamp(now + lifetime, datetime.UTC)
        body["expires_at"] = expires.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if behaviour.token_scope:
        body["scope"] = " ".join(scope for scope in _ordered(token.scopes))
    return web.json_response(body, headers={"Cache-Control": "no-store"}), token.number


def _ordered(scopes: frozenset[str]) -> list[str]:
    return [scope for scope in ALL_SCOPES if scope in scopes]
