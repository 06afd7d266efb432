"""Envelope for secrets at rest: AES-256-GCM encryption and keyed lookup hashes.

Key-encryption keys (KEKs) come from the environment: one active, which encrypts, and
any number of previous ones, which still decrypt, so a KEK can be rotated without a flag
day. Each ciphertext names the KEK that sealed it (`v2.<key id>.<data>`; the key id is
derived from the KEK, so it says nothing about it), and `reencrypt` moves a ciphertext
to the active KEK. Ciphertexts from before key ids (`v1.<data>`) still decrypt: the KEK
whose authentication tag holds is the one.

The lookup-hash key (keyed hashes of partner keys and access tokens, to find them
without storing them) is not a KEK: it is configured on its own (LOOKUP_HASH_KEY), so a
KEK rotation leaves every hash valid. Unset, it is derived from the active KEK as it
always was, which is what `legacy_lookup_hash_key` prints for pinning it before a first
rotation (docs/operations.md).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_LEGACY = "v1"
_VERSION = "v2"
_NONCE_BYTES = 12


class SecretBoxError(ValueError):
    """A key is unusable or a ciphertext does not decrypt."""


def _derive(kek: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(kek)


def generate_kek() -> str:
    """A new key-encryption key, base64-encoded, for `KEY_ENCRYPTION_KEY`."""
    return base64.b64encode(os.urandom(32)).decode("ascii")


def _decode_key(encoded: str, name: str) -> bytes:
    try:
        key = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise SecretBoxError(f"{name} must be base64") from None
    if len(key) != 32:
        raise SecretBoxError(f"{name} must be 32 bytes")
    return key


def key_id(kek: bytes) -> str:
    """The KEK's id as ciphertexts carry it: 12 hex digits, one-way derived from it."""
    return _derive(kek, b"alooba/key-id/v1")[:6].hex()


def legacy_lookup_hash_key(encoded_kek: str) -> str:
    """The lookup-hash key as derived from `encoded_kek` before it was configured on its
    own: set LOOKUP_HASH_KEY to it to keep every existing hash valid across rotations."""
    derived = _derive(_decode_key(encoded_kek, "KEY_ENCRYPTION_KEY"), b"alooba/lookup-hash/v1")
    return base64.b64encode(derived).decode("ascii")


class SecretBox:
    def __init__(
        self, keks: bytes | Sequence[bytes], *, lookup_hash_key: bytes | None = None
    ) -> None:
        """`keks[0]` (or the one KEK given) encrypts; every one of them decrypts."""
        if isinstance(keks, bytes):
            keks = [keks]
        if not keks or any(len(kek) != 32 for kek in keks):
            raise SecretBoxError("key-encryption keys must be 32 bytes, and one is needed")
        self._active = key_id(keks[0])
        self._aeads = {key_id(kek): AESGCM(_derive(kek, b"alooba/secret-box/v1")) for kek in keks}
        if lookup_hash_key is not None and len(lookup_hash_key) != 32:
            raise SecretBoxError("the lookup-hash key must be 32 bytes")
        self._hash_key = lookup_hash_key or _derive(keks[0], b"alooba/lookup-hash/v1")

    @classmethod
    def from_base64(
        cls,
        active: str,
        previous: Sequence[str] = (),
        *,
        lookup_hash_key: str | None = None,
    ) -> SecretBox:
        """From KEY_ENCRYPTION_KEY, KEY_ENCRYPTION_KEYS_PREVIOUS and LOOKUP_HASH_KEY."""
        keks = [_decode_key(active, "KEY_ENCRYPTION_KEY")]
        keks += [_decode_key(kek, "KEY_ENCRYPTION_KEYS_PREVIOUS") for kek in previous]
        hash_key = _decode_key(lookup_hash_key, "LOOKUP_HASH_KEY") if lookup_hash_key else None
        return cls(keks, lookup_hash_key=hash_key)

    @property
    def active_key_id(self) -> str:
        return self._active

    def encrypt(self, plaintext: str, *, context: str) -> str:
        """Encrypts `plaintext` under the active KEK, bound to `context` (say, the owning
        row's id)."""
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aeads[self._active].encrypt(
            nonce, plaintext.encode("utf-8"), context.encode("utf-8")
        )
        data = base64.urlsafe_b64encode(nonce + sealed).decode("ascii")
        return f"{_VERSION}.{self._active}.{data}"

    def decrypt(self, token: str, *, context: str) -> str:
        version, _, rest = token.partition(".")
        if version == _VERSION:
            kid, _, data = rest.partition(".")
            aead = self._aeads.get(kid)
            if aead is None:
                raise SecretBoxError(f"ciphertext sealed with key {kid!r}, which is not configured")
            candidates = [aead]
        elif version == _LEGACY:
            data, candidates = rest, list(self._aeads.values())
        else:
            raise SecretBoxError("unknown ciphertext format")
        try:
            raw = base64.urlsafe_b64decode(data)
        except (binascii.Error, ValueError):
            raise SecretBoxError("ciphertext is not base64") from None
        for aead in candidates:
            try:
                plain = aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], context.encode())
            except InvalidTag:
                continue
            return plain.decode("utf-8")
        raise SecretBoxError("ciphertext does not decrypt with any configured key")

    def sealed_with_active_key(self, token: str) -> bool:
        """Whether `token` is already sealed with the active KEK (nothing to re-encrypt)."""
        version, _, rest = token.partition(".")
        return version == _VERSION and rest.partition(".")[0] == self._active

    def reencrypt(self, token: str, *, context: str) -> str:
        """`token` sealed again with the active KEK (the same plaintext and context)."""
        return self.encrypt(self.decrypt(token, context=context), context=context)

    def lookup_hash(self, value: str) -> str:
        """A keyed hash to find a secret by without storing it in the clear."""
        return hmac.new(self._hash_key, value.encode("utf-8"), hashlib.sha256).hexdigest()
