"""Harvest credentials: v1 API keys (HTTP Basic, the token as username, a blank
password; reference §3.2) and v3 OAuth clients with the bearer tokens they obtain
(client credentials grant; harvest-v3-facts.md rows 10-12).

A credential is identified in records and rate limiting by a public id, never by its
secret: `harvest-key-N` for a v1 key, the client id for a v3 client (every token of a
client shares its rate limit). A v3 client id carries a `-<n>` suffix (E11).

Scopes (E16): "removed scopes are enforced in real time ... added scopes need a new
token", so a token's scopes are those it was issued with that its client still has.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hmac
import math
import secrets
from dataclasses import dataclass


@dataclass(frozen=True)
class V1Key:
    """A Harvest v1/v2 API key and the endpoint permissions ticked for it."""

    key_id: str
    token: str
    permissions: frozenset[str]


@dataclass
class V3Client:
    """A Harvest v3 (OAuth) client and the scopes it is granted now (Manage Scopes)."""

    client_id: str
    client_secret: str
    scopes: frozenset[str]


@dataclass(frozen=True)
class AccessToken:
    """A bearer token: whose, acting as which user (`sub`; None is the service account),
    with which scopes when issued, until when (time.monotonic()). `number` counts the
    tokens the emulator issued (1, 2, ...): records name a token by it, never by its
    secret."""

    token: str
    client_id: str
    sub: int | None
    scopes: frozenset[str]
    expires_at: float
    number: int


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """(username, password) from a Basic Authorization header, or None when it is not one."""
    if header is None:
        return None
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, ValueError):
        return None
    username, colon, password = decoded.partition(":")
    return (username, password) if colon else None


def bearer_token(header: str | None) -> str | None:
    """The token of a Bearer Authorization header, or None when it is not one."""
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


class Credentials:
    """Every key, client and token issued by one emulator."""

    def __init__(self) -> None:
        self._keys: dict[str, V1Key] = {}
        self._clients: dict[str, V3Client] = {}
        self._tokens: dict[str, AccessToken] = {}
        self._issued = 0

    def issue_v1_key(self, permissions: frozenset[str]) -> V1Key:
        """A new v1 key; its token is 32 hex digits, like Greenhouse's."""
        key = V1Key(f"harvest-key-{len(self._keys) + 1}", secrets.token_hex(16), permissions)
        self._keys[key.token] = key
        return key

    def issue_v3_client(self, scopes: frozenset[str]) -> V3Client:
        """A new v3 client; its id ends in `-<n>` (E11)."""
        client_id = f"{secrets.token_hex(8)}-{len(self._clients) + 1}"
        client = V3Client(client_id, secrets.token_urlsafe(32), scopes)
        self._clients[client.client_id] = client
        return client

    def grant_v1(self, token: str, permissions: frozenset[str]) -> None:
        """Ticks more endpoint permissions for a v1 key; they apply to its next request."""
        key = self._keys[token]
        self._keys[token] = dataclasses.replace(key, permissions=key.permissions | permissions)

    def client(self, client_id: str) -> V3Client:
        """The v3 client with this id; KeyError if unknown."""
        return self._clients[client_id]

    def key_id(self, token: str) -> str | None:
        """The public id of the v1 key with this token."""
        key = self._keys.get(token)
        return key.key_id if key is not None else None

    def v1_key(self, header: str | None) -> V1Key | None:
        """The key a v1 request authenticates with: Basic, a known token, and the blank
        password the docs prescribe (a non-blank one is refused: strict on purpose)."""
        credentials = basic_credentials(header)
        if credentials is None or credentials[1]:
            return None
        return self._keys.get(credentials[0])

    def v3_client(self, header: str | None) -> V3Client | None:
        """The client a token request authenticates as (Basic client_id:client_secret)."""
        credentials = basic_credentials(header)
        if credentials is None:
            return None
        client = self._clients.get(credentials[0])
        if client is None or not hmac.compare_digest(
            client.client_secret.encode(), credentials[1].encode()
        ):
            return None
        return client

    def issue_token(
        self,
        client: V3Client,
        sub: int | None,
        scopes: frozenset[str],
        lifetime: float,
        now: float,
        *,
        revoke_previous: bool,
    ) -> AccessToken:
        """A new bearer token valid for `lifetime` seconds from `now` (the token clock); with
        `revoke_previous`, the client's earlier tokens for the same `sub` stop working
        (E12's single-active-token reading)."""
        if revoke_previous:
            for value, earlier in list(self._tokens.items()):
                if earlier.client_id == client.client_id and earlier.sub == sub:
                    del self._tokens[value]
        self._issued += 1
        token = AccessToken(
            secrets.token_urlsafe(32), client.client_id, sub, scopes, now + lifetime, self._issued
        )
        self._tokens[token.token] = token
        return token

    def access_token(self, header: str | None, now: float) -> AccessToken | None:
        """The live token a v3 request carries, or None (missing, unknown, expired or
        revoked)."""
        value = bearer_token(header)
        token = self._tokens.get(value) if value is not None else None
        if token is None or now >= token.expires_at:
            return None
        return token

    def live_scopes(self, token: AccessToken) -> frozenset[str]:
        """What `token` may do now: its scopes that its client still has (E16)."""
        client = self._clients.get(token.client_id)
        return token.scopes & client.scopes if client is not None else frozenset()

    def revoke_tokens(self) -> None:
        """Forget every token issued so far (they answer 401 from now on)."""
        self._tokens.clear()


def expires_in(lifetime: float) -> int:
    """`expires_in` of a token response: whole seconds, rounded up."""
    return max(0, math.ceil(lifetime))
