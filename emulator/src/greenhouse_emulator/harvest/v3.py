"""Harvest v3 and its OAuth token endpoint. Almost all of this is UNCONFIRMED: the
reference (§3.1) confirms the client credentials grant at https://auth.greenhouse.io/token
(HTTP Basic client_id:client_secret, `grant_type=client_credentials&sub=<user id>`),
Bearer tokens living an hour, `sub` standing in for On-Behalf-Of (a service account
without it), cursor pagination with only a `next` link and `cursor` as the only query
parameter, and `PATCH /v3/applications/{id}`. The other routes, the scope names, the
error bodies and the status codes are the emulator's assumptions, chosen to mirror v1
and RFC 6749/6750; they are kept in this one module so they are easy to correct.

Assumptions made here:
- scopes are one per v1 permission (`V3_SCOPES`); a token gets every scope of its
  client's permissions, or, with a `scope` form field, the requested subset (a scope
  the client lacks is a 400 `invalid_scope`);
- the token response is RFC 6749's: access_token, token_type "Bearer", expires_in
  (whole seconds, rounded up), scope (space separated);
- a token whose `sub` user has been disabled since it was issued is invalid (401);
- a missing scope is a 403 `insufficient_scope` naming the scope, as RFC 6750 says;
- a service-account token (no `sub`) may read but every write is a 403 with v1's body;
- bodies, validation and errors of the API routes are v1's;
- `GET /v3/custom_fields` takes `field_type` as an optional query filter (422 when
  unknown) instead of v1's path segment;
- an unknown cursor, or one of another list, is a 422 `{"message": "Invalid cursor"}`.
"""

from __future__ import annotations

import re
import time
from typing import Any, Final

from aiohttp import web
from multidict import MultiDict, MultiMapping
from yarl import URL

from greenhouse_emulator.harvest import pagination, permissions
from greenhouse_emulator.harvest.answers import Answer, no_access
from greenhouse_emulator.harvest.auth import V3Client, expires_in
from greenhouse_emulator.harvest.records import TokenRequest
from greenhouse_emulator.harvest.routing import (
    Endpoint,
    Headers,
    Pager,
    Principal,
    acting_site_admin,
)
from greenhouse_emulator.harvest.service import Service

V3_SCOPES: Final = {
    permissions.LIST_USERS: "harvest:users:list",
    permissions.RETRIEVE_USER: "harvest:users:read",
    permissions.ADD_USER: "harvest:users:create",
    permissions.UPDATE_APPLICATION: "harvest:applications:update",
    permissions.CREATE_CUSTOM_FIELD: "harvest:custom_fields:create",
    permissions.GET_CUSTOM_FIELDS: "harvest:custom_fields:list",
}
TOKEN_PATH: Final = "/token"  # noqa: S105 - a path, not a secret
INVALID_TOKEN: Final = {"error": "invalid_token"}
_INTEGER: Final = re.compile(r"[0-9]+")


def scopes_of(granted: frozenset[str]) -> list[str]:
    """The scopes of these v1 permissions, in a stable order."""
    return [V3_SCOPES[label] for label in permissions.ALL_PERMISSIONS if label in granted]


class _CursorPager:
    def __init__(self, service: Service, path: str, query: MultiMapping[str]) -> None:
        self._service = service
        self._path = path
        state = service.cursors.resolve(query, path)
        if state is None:
            self._size = pagination.per_page(query)
            self._after = 0
            self._query: MultiMapping[str] = query
        else:
            self._size = state.per_page
            self._after = state.after_id
            self._query = MultiDict(state.query)

    @property
    def query(self) -> MultiMapping[str]:
        return self._query

    def answer(self, items: list[dict[str, Any]]) -> Answer:
        remaining = pagination.after_id(sorted(items, key=lambda item: item["id"]), self._after)
        chunk = remaining[: self._size]
        if len(remaining) <= self._size:
            return Answer(200, chunk)
        cursor = self._service.cursors.issue(
            pagination.CursorState(
                path=self._path,
                query=tuple((k, v) for k, v in self._query.items() if k != "per_page"),
                per_page=self._size,
                after_id=chunk[-1]["id"],
            )
        )
        url = URL(self._service.base_url + self._path).with_query({"cursor": cursor})
        return Answer(200, chunk, {"Link": pagination.link("next", url)})


def _invalid_token() -> Answer:
    return Answer(401, dict(INVALID_TOKEN), {"WWW-Authenticate": 'Bearer error="invalid_token"'})


class V3:
    """The v3 rules (ApiVersion)."""

    name = "v3"

    def path(self, endpoint: Endpoint) -> str:
        return "/v3" + endpoint.v3_path

    def authenticate(self, service: Service, headers: Headers, now: float) -> Principal | Answer:
        token = service.credentials.access_token(headers.get("Authorization"), now)
        if token is None:
            return _invalid_token()
        if token.sub is not None:
            user = service.organisation.users.get(token.sub)
            if user is None or user.disabled:
                return _invalid_token()
        return Principal(token.client_id, token.scopes, token.sub)

    def identify(self, service: Service, headers: Headers, now: float) -> str | None:
        token = service.credentials.access_token(headers.get("Authorization"), now)
        return token.client_id if token is not None else None

    def refusal(self, endpoint: Endpoint, principal: Principal) -> Answer | None:
        scope = V3_SCOPES[endpoint.permission]
        if scope in principal.grants:
            return None
        return Answer(
            403,
            {"error": "insufficient_scope", "scope": scope},
            {"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'},
        )

    def acting_user(self, service: Service, principal: Principal, headers: Headers) -> int:
        if principal.sub is None:  # the service account
            raise no_access()
        return acting_site_admin(service.organisation, principal.sub)

    def on_behalf_of(self, principal: Principal | None, headers: Headers) -> int | None:
        return principal.sub if principal is not None else None

    def pager(
        self, service: Service, endpoint: Endpoint, path: str, query: MultiMapping[str]
    ) -> Pager:
        return _CursorPager(service, path, query)


def _token_error(status: int, error: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(
        {"error": error}, status=status, headers={"Cache-Control": "no-store", **(headers or {})}
    )


async def token_endpoint(service: Service, request: web.Request) -> web.Response:
    """`POST /token`, the client credentials grant. Never rate limited or faulted."""
    now = time.monotonic()
    form = await request.post()
    client = service.credentials.v3_client(request.headers.get("Authorization"))
    grant_type = form.get("grant_type")
    raw_sub = form.get("sub")
    grant = grant_type if isinstance(grant_type, str) else None
    sub_text = raw_sub if isinstance(raw_sub, str) else None
    response = _token_answer(service, client, grant, sub_text, form.get("scope"), now)
    service.token_requests.append(
        TokenRequest(
            at=now,
            client_id=client.client_id if client is not None else None,
            grant_type=grant,
            sub=sub_text,
            status=response.status,
        )
    )
    return response


def _token_answer(
    service: Service,
    client: V3Client | None,
    grant_type: str | None,
    raw_sub: str | None,
    raw_scope: Any,
    now: float,
) -> web.Response:
    if client is None:
        return _token_error(401, "invalid_client", {"WWW-Authenticate": 'Basic realm="Greenhouse"'})
    if grant_type is None:
        return _token_error(400, "invalid_request")
    if grant_type != "client_credentials":
        return _token_error(400, "unsupported_grant_type")
    sub: int | None = None
    if raw_sub is not None:
        user_id = int(raw_sub.strip()) if _INTEGER.fullmatch(raw_sub.strip()) else None
        user = service.organisation.users.get(user_id) if user_id is not None else None
        if user is None or user.disabled:
            return _token_error(400, "invalid_grant")
        sub = user.id
    scopes = scopes_of(client.permissions)
    if isinstance(raw_scope, str) and raw_scope.strip():
        requested = raw_scope.split()
        if not set(requested) <= set(scopes):
            return _token_error(400, "invalid_scope")
        scopes = [scope for scope in scopes if scope in requested]
    lifetime = service.settings.token_lifetime_seconds
    token = service.credentials.issue_token(client, sub, frozenset(scopes), lifetime, now)
    return web.json_response(
        {
            "access_token": token.token,
            "token_type": "Bearer",
            "expires_in": expires_in(lifetime),
            "scope": " ".join(scopes),
        },
        headers={"Cache-Control": "no-store"},
    )
