"""Envelope for secrets at rest: AES-256-GCM encryption and keyed lookup hashes.

One key-encryption key (KEK) comes from the environment. Two independent keys are
derived from it with HKDF, so the lookup hash cannot be used to decrypt and the
ciphertext says nothing about the hash. Ciphertexts carry a version prefix so the
scheme can change without a flag day.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_VERSION = "v1"
_NONCE_BYTES = 12


class SecretBoxError(ValueError):
    """The key-encryption key is unusable or a ciphertext does not decrypt."""


def _derive(kek: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(kek)


def generate_kek() -> str:
    """A new key-encryption key, base64-encoded, for `KEY_ENCRYPTION_KEY`."""
    return base64.b64encode(os.urandom(32)).decode("ascii")


class SecretBox:
    def __init__(self, kek: bytes) -> None:
        if len(kek) != 32:
            raise SecretBoxError("the key-encryption key must be 32 bytes")
        self._aead = AESGCM(_derive(kek, b"alooba/secret-box/v1"))
        self._hash_key = _derive(kek, b"alooba/lookup-hash/v1")

    @classmethod
    def from_base64(cls, encoded: str) -> SecretBox:
        try:
            kek = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise SecretBoxError("KEY_ENCRYPTION_KEY must be base64") from None
        return cls(kek)

    def encrypt(self, plaintext: str, *, context: str) -> str:
        """Encrypts `plaintext`, bound to `context` (say, the owning row's id)."""
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode("utf-8"), context.encode("utf-8"))
        return f"{_VERSION}.{base64.urlsafe_b64encode(nonce + sealed).decode('ascii')}"

    def decrypt(self, token: str, *, context: str) -> str:
        version, _, payload = token.partition(".")
        if version != _VERSION or not payload:
            raise SecretBoxError("unknown ciphertext format")
        raw = base64.urlsafe_b64decode(payload)
        try:
            plain = self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], context.encode())
        except InvalidTag:
            raise SecretBoxError("ciphertext does not decrypt with this key") from None
        return plain.decode("utf-8")

    def lookup_hash(self, value: str) -> str:
        """A keyed hash to find a secret by without storing it in the clear."""
        return hmac.new(self._hash_key, value.encode("utf-8"), hashlib.sha256).hexdigest()
