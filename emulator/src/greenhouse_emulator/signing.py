"""A webhook body as Greenhouse puts it on the wire, and its `Signature` header
(reference §2.3): HMAC-SHA256 of the raw body bytes, keyed with the webhook's Secret Key,
sent as "sha256 <lowercase hex>"."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any, Final

# Rails' JSON escaping (ActiveSupport's escape_html_entities_in_json): the docs show
# `<p>hello</p>` arriving as `\u003cp\u003ehello\u003c/p\u003e`. The slash is not escaped
# there, although zulip's 2018 ping fixture shows `https:\/\/`; we follow the docs.
_HTML_ESCAPES: Final = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026"}


def encode_webhook_body(payload: Mapping[str, Any]) -> bytes:
    """`payload` as Greenhouse serializes it (Ruby's to_json): compact, every non-ASCII
    character escaped as \\uXXXX (astral ones as surrogate pairs), and <, > and &
    escaped too. The result is pure ASCII, so it is the same bytes in any encoding."""
    text = json.dumps(payload, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
    # Safe on the serialized text: <, > and & can only occur inside JSON strings, and
    # never inside an escape sequence.
    return text.translate(_HTML_ESCAPES).encode("ascii")


def sign(body: bytes, secret: str) -> str:
    """The Signature header value for `body`: "sha256 " and the lowercase hex
    HMAC-SHA256 of the raw bytes, keyed with `secret`."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256 {digest}"
