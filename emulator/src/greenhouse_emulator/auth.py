"""Greenhouse's HTTP Basic authentication: the organization's API key as username, an
empty password (reference §1.2), in both directions."""

from __future__ import annotations

import base64
import binascii
import hmac


def basic_auth(api_key: str) -> str:
    """The Authorization header value: Basic base64("<api_key>:")."""
    return "Basic " + base64.b64encode(f"{api_key}:".encode()).decode("ascii")


def authorization_problem(header: str | None, api_key: str) -> str | None:
    """Why `header` is not Basic auth with `api_key` and an empty password, or None
    when it is."""
    if header is None:
        return "no Authorization header"
    scheme, _, credentials = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return f"scheme is {scheme!r}, not Basic"
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True)
    except (binascii.Error, ValueError):
        return "credentials are not base64"
    username, colon, password = decoded.partition(b":")
    if not colon:
        return "credentials have no ':' separator"
    # Constant time: the key is a secret, its prefix should not be guessable by timing.
    if not hmac.compare_digest(username, api_key.encode()):
        return "wrong API key"
    if password:
        return "password is not empty"
    return None
