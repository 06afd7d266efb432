"""Harvest v3: OAuth 2.0 client credentials, bearer tokens, cursor pagination.

A customer-built integration gets a token from Greenhouse's token endpoint with HTTP Basic
client_id:client_secret and `grant_type=client_credentials&sub=<user id>`; the `sub` user
stands in for v1's On-Behalf-Of (reference §3.1). Tokens are kept per `sub`, renewed a
little before they expire, and renewed at once when Greenhouse answers 401 to one (it may
have expired early or been revoked); the request is then sent once more.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import aiohttp
import structlog
from yarl import URL

from harvest_sync.harvest import unconfirmed
from harvest_sync.harvest.client import HarvestClient
from harvest_sync.harvest.errors import (
    CredentialRefused,
    HarvestUnavailable,
    PermissionMissing,
    RateLimited,
)
from harvest_sync.harvest.transport import Answer, Transport, error_message

log = structlog.get_logger("harvest_sync.harvest.v3")

# Renew when less than a tenth of a token's lifetime is left, or 30 s, whichever is more
# (but never sooner than half-way: a short-lived token is still used).
_RENEW_FRACTION = 0.1
_RENEW_MIN_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class Token:
    access_token: str
    expires_at: float
    renew_at: float
    # None when the token response named no scopes.
    scopes: frozenset[str] | None


class TokenSource:
    """Client-credentials tokens, one per `sub`."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        timeout: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._token_url = token_url
        self._authorization = aiohttp.encode_basic_auth(client_id, client_secret)
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._clock = clock
        self._tokens: dict[int | None, Token] = {}
        self._locks: dict[int | None, asyncio.Lock] = {}
        self.issued = 0

    async def token(self, sub: int | None) -> Token:
        current = self._tokens.get(sub)
        if current is not None and self._clock() < current.renew_at:
            return current
        async with self._locks.setdefault(sub, asyncio.Lock()):
            current = self._tokens.get(sub)
            if current is not None and self._clock() < current.renew_at:
                return current  # another caller renewed it while we waited
            fresh = await self._request(sub)
            self._tokens[sub] = fresh
            return fresh

    def invalidate(self, sub: int | None, access_token: str) -> None:
        current = self._tokens.get(sub)
        if current is not None and current.access_token == access_token:
            del self._tokens[sub]

    async def _request(self, sub: int | None) -> Token:
        form = {"grant_type": "client_credentials"}
        if sub is not None:
            form["sub"] = str(sub)
        started = self._clock()
        try:
            async with self._http.post(
                self._token_url,
                data=form,
                headers={"Authorization": self._authorization},
                timeout=self._timeout,
                allow_redirects=False,
            ) as response:
                status = response.status
                retry_after = response.headers.get("Retry-After", "")
                try:
                    body = await response.json(content_type=None)
                except ValueError:
                    body = None
        except (TimeoutError, aiohttp.ClientError) as error:
            raise HarvestUnavailable(
                f"token endpoint unreachable: {type(error).__name__}"
            ) from None
        if status == 429:
            raise RateLimited(float(retry_after) if retry_after.isdigit() else 10.0)
        if status >= 500:
            raise HarvestUnavailable(f"token endpoint answered {status}", status=status)
        if status != 200 or not isinstance(body, dict) or "access_token" not in body:
            reason = error_message(body) or f"status {status}"
            raise CredentialRefused(f"Greenhouse refused the OAuth client: {reason}", status=status)
        lifetime = float(body.get("expires_in") or 3600)
        scope = body.get("scope")
        self.issued += 1
        log.info("harvest.token_issued", expires_in=lifetime, sub=sub)
        return Token(
            access_token=str(body["access_token"]),
            expires_at=started + lifetime,
            renew_at=started + lifetime - _renew_margin(lifetime),
            scopes=frozenset(scope.split()) if isinstance(scope, str) else None,
        )


def _renew_margin(lifetime: float) -> float:
    return min(max(lifetime * _RENEW_FRACTION, _RENEW_MIN_SECONDS), lifetime / 2)


class HarvestV3(HarvestClient):
    mode = "v3"

    def __init__(self, transport: Transport, tokens: TokenSource) -> None:
        super().__init__(transport)
        self._tokens = tokens

    async def _headers(self, acting_user_id: int | None) -> dict[str, str]:
        token = await self._tokens.token(acting_user_id)
        return {"Authorization": f"Bearer {token.access_token}"}

    async def _refused(
        self,
        answer: Answer,
        permission: str,
        acting_user_id: int | None,
        *,
        sent_headers: Mapping[str, str],
        retried: bool,
    ) -> bool:
        if answer.status == 401:
            if retried:
                raise CredentialRefused(
                    "Greenhouse refused a freshly issued v3 token", status=answer.status
                )
            sent = sent_headers["Authorization"].removeprefix("Bearer ")
            self._tokens.invalidate(acting_user_id, sent)
            return True
        body = answer.body
        if (
            answer.status == unconfirmed.V3_PERMISSION_REFUSED_STATUS
            and isinstance(body, dict)
            and body.get("error") == "insufficient_scope"
        ):
            raise PermissionMissing(permission, status=answer.status)
        return False

    def _users_url(self) -> URL:
        return self._transport.url(unconfirmed.V3_USERS_PATH)

    def _fields_url(self) -> URL:
        return self._transport.url(unconfirmed.V3_CUSTOM_FIELDS_PATH).with_query(
            {unconfirmed.V3_CUSTOM_FIELDS_TYPE_PARAMETER: "application", "per_page": 100}
        )

    def _create_field_url(self) -> URL:
        return self._transport.url(unconfirmed.V3_CUSTOM_FIELDS_PATH)

    def _application_url(self, application_id: int) -> URL:
        return self._transport.url(unconfirmed.V3_APPLICATION_PATH.format(id=application_id))

    def _next_page(self, answer: Answer) -> URL | None:
        link = answer.links.get("next")
        if link is None or "cursor" not in link.query:
            return link
        # "When following a cursor, it must be the only query parameter."
        return link.with_query({"cursor": link.query["cursor"]})

    async def missing_permissions(self, acting_user_id: int | None) -> list[str]:
        token = await self._tokens.token(acting_user_id)
        if token.scopes is None:
            log.warning("harvest.token_without_scopes")
            return []
        return [
            name
            for name in unconfirmed.NEEDED_PERMISSIONS
            if unconfirmed.V3_SCOPES[name] not in token.scopes
        ]
