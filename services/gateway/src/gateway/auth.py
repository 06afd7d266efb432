"""HTTP Basic auth as Greenhouse uses it: the partner API key is the username and the
password is empty (Greenhouse appends a colon to the key and base64-encodes it)."""

from __future__ import annotations

import base64
import binascii

from alooba_common.validation import has_control_characters
from gateway.errors import RequestError

# Greenhouse requires keys under 171 characters; anything far longer is not a key.
_MAX_HEADER_LENGTH = 1024


def partner_key_from_header(header: str | None) -> str:
    """The key from an `Authorization: Basic ...` header; RequestError(401) otherwise."""
    if not header:
        raise RequestError(401, "missing Authorization header")
    if len(header) > _MAX_HEADER_LENGTH:
        raise RequestError(401, "malformed Authorization header")
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic" or not encoded:
        raise RequestError(401, "Authorization must use the Basic scheme")
    try:
        # ValueError: non-ASCII in the header (aiohttp passes undecodable bytes on as
        # surrogates), which base64 refuses before decoding anything.
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise RequestError(401, "malformed Basic credentials") from None
    key, colon, password = decoded.partition(":")
    if not colon or not key or password:
        raise RequestError(401, "the partner API key must be the username, with an empty password")
    if has_control_characters(key):
        # No key holds one. Refused here as any wrong key is (401, counted by the
        # throttle), not left for the services, which refuse NUL in any field with 422.
        raise RequestError(401, "malformed Basic credentials")
    return key
