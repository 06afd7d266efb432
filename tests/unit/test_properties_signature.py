"""Properties of webhook signature verification (assessments' Webhooks.verify_signature,
which the gateway's webhook endpoint calls): a body signed the way Greenhouse signs it
verifies, a changed body or key does not, and no Signature header, however mangled,
raises anything but Unauthenticated."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from types import SimpleNamespace
from typing import Any
from unittest import mock

from hypothesis import example, given
from hypothesis import strategies as st

from alooba_common.errors import Unauthenticated
from alooba_common.secrets import SecretBox, generate_kek
from assessments.app import webhooks
from assessments.app.key_cache import KeyCache
from assessments.app.receipts import ReceiptTally
from greenhouse_emulator.signing import sign

ORGANIZATION = "Acme"
ORGANIZATION_ID = "org-1"
BOX = SecretBox(base64.b64decode(generate_kek()))
secrets = st.text(st.characters(codec="utf-8"), min_size=1, max_size=60)
bodies = st.binary(max_size=2000)


class _Sessions:
    @asynccontextmanager
    async def begin(self) -> AsyncIterator[None]:
        yield None


@contextmanager
def organization_with_keys(*secrets: str) -> Iterator[webhooks.Webhooks]:
    """Webhooks over one organization holding `secrets`, with no database behind it."""
    keys = [
        SimpleNamespace(
            id=f"key-{n}",
            encrypted_secret=BOX.encrypt(secret, context=f"key-{n}"),
            expires_at=None,  # the active key: no expiry
        )
        for n, secret in enumerate(secrets)
    ]

    class Repository:
        def __init__(self, session: Any) -> None:
            pass

        async def organization_by_name(self, name: str) -> Any:
            return SimpleNamespace(id=ORGANIZATION_ID) if name == ORGANIZATION else None

        async def unexpired_keys(self, organization_id: str, now: Any) -> list[Any]:
            return keys

    sessions: Any = _Sessions()
    with mock.patch.object(webhooks, "Repository", Repository):
        # The receipts are only tallied in memory here (never flushed): no database.
        yield webhooks.Webhooks(
            sessions, BOX, key_cache=KeyCache(), receipts=ReceiptTally(sessions)
        )


def verify(hooks: webhooks.Webhooks, signature: str, body: bytes) -> str | None:
    """The organization id, or None when refused; any other exception propagates."""
    try:
        return asyncio.run(hooks.verify_signature(ORGANIZATION, signature, body))
    except Unauthenticated:
        return None


@given(secrets, bodies)
def test_a_body_signed_with_the_organization_key_verifies(secret: str, body: bytes) -> None:
    with organization_with_keys("agh_other", secret) as hooks:
        assert verify(hooks, sign(body, secret), body) == ORGANIZATION_ID


@given(secrets, bodies)
def test_the_hex_digest_is_case_insensitive_and_surrounding_space_is_ignored(
    secret: str, body: bytes
) -> None:
    with organization_with_keys(secret) as hooks:
        assert verify(hooks, f" {sign(body, secret).upper().replace('SHA256', 'sha256')} ", body)


@given(secrets, bodies, bodies)
def test_a_signature_of_another_body_is_refused(secret: str, body: bytes, other: bytes) -> None:
    with organization_with_keys(secret) as hooks:
        assert verify(hooks, sign(other, secret), body) == (
            ORGANIZATION_ID if other == body else None
        )


@given(secrets, secrets, bodies)
def test_a_signature_with_another_key_is_refused(secret: str, other: str, body: bytes) -> None:
    with organization_with_keys(secret) as hooks:
        expected = ORGANIZATION_ID if other == secret else None
        assert verify(hooks, sign(body, other), body) == expected


@given(secrets, bodies)
def test_other_vendors_formats_are_refused(secret: str, body: bytes) -> None:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    with organization_with_keys(secret) as hooks:
        for signature in (f"sha256={digest}", digest, f"sha1 {digest}", f"sha256  {digest}"):
            assert verify(hooks, signature, body) is None


@given(st.text(max_size=300), bodies)
@example("sha256 " + "0" * 64, b"")
@example("sha256 " + "\u0660" * 64, b"")  # Arabic-Indic digits are not hex
@example("\x00", b"\xff")
def test_garbage_signatures_are_unauthenticated_and_nothing_else(
    signature: str, body: bytes
) -> None:
    with organization_with_keys("agh_secret") as hooks:
        assert verify(hooks, signature, body) is None


@given(st.text(max_size=300), bodies)
def test_an_unknown_organization_is_unauthenticated(name: str, body: bytes) -> None:
    with organization_with_keys("agh_secret") as hooks:
        try:
            asyncio.run(hooks.verify_signature(name, sign(body, "agh_secret"), body))
        except Unauthenticated:
            assert name != ORGANIZATION
