"""Secrets at rest: AES-GCM bound to a context, and keyed lookup hashes."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from alooba_common.secrets import (
    SecretBox,
    SecretBoxError,
    _derive,
    generate_kek,
    legacy_lookup_hash_key,
)


def box() -> SecretBox:
    return SecretBox.from_base64(generate_kek())


def test_encrypt_then_decrypt_returns_the_plaintext() -> None:
    secret_box = box()
    token = secret_box.encrypt("agh_s3cret-ünïcode", context="key-1")
    assert "agh_s3cret" not in token
    assert secret_box.decrypt(token, context="key-1") == "agh_s3cret-ünïcode"


def test_the_same_plaintext_encrypts_differently_each_time() -> None:
    secret_box = box()
    assert secret_box.encrypt("agh_x", context="k") != secret_box.encrypt("agh_x", context="k")


def test_decrypt_with_another_context_fails() -> None:
    secret_box = box()
    token = secret_box.encrypt("agh_secret", context="key-1")
    with pytest.raises(SecretBoxError):
        secret_box.decrypt(token, context="key-2")


def test_decrypt_with_another_kek_fails() -> None:
    token = box().encrypt("agh_secret", context="key-1")
    with pytest.raises(SecretBoxError):
        box().decrypt(token, context="key-1")


def test_decrypt_of_an_unknown_format_fails() -> None:
    with pytest.raises(SecretBoxError):
        box().decrypt("v0.abcdef", context="key-1")


def test_lookup_hash_is_stable_for_one_kek() -> None:
    kek = generate_kek()
    assert SecretBox.from_base64(kek).lookup_hash("agh_secret") == SecretBox.from_base64(
        kek
    ).lookup_hash("agh_secret")


def test_lookup_hash_differs_per_kek_and_per_value() -> None:
    first, second = box(), box()
    assert first.lookup_hash("agh_secret") != second.lookup_hash("agh_secret")
    assert first.lookup_hash("agh_secret") != first.lookup_hash("agh_secret2")


def test_lookup_hash_does_not_contain_the_value() -> None:
    assert "agh_secret" not in box().lookup_hash("agh_secret")


@pytest.mark.parametrize("encoded", ["", "not base64!", "====", "YWJj\n"])
def test_from_base64_rejects_bad_input(encoded: str) -> None:
    with pytest.raises(SecretBoxError):
        SecretBox.from_base64(encoded)


@pytest.mark.parametrize("length", [16, 31, 33, 64])
def test_from_base64_rejects_a_kek_of_the_wrong_length(length: int) -> None:
    with pytest.raises(SecretBoxError):
        SecretBox.from_base64(base64.b64encode(b"k" * length).decode())


# --- finding 4f: KEK rotation ----------------------------------------------------------


def test_a_ciphertext_names_the_key_that_sealed_it() -> None:
    old, new = generate_kek(), generate_kek()
    sealed_old = SecretBox.from_base64(old).encrypt("agh_x", context="k")
    sealed_new = SecretBox.from_base64(new).encrypt("agh_x", context="k")

    assert sealed_old.split(".")[:2] == ["v2", SecretBox.from_base64(old).active_key_id]
    assert sealed_old.split(".")[1] != sealed_new.split(".")[1]
    assert old not in sealed_old  # the id says nothing about the key


def test_previous_keys_still_decrypt_and_the_active_one_encrypts() -> None:
    old, new = generate_kek(), generate_kek()
    sealed = SecretBox.from_base64(old).encrypt("agh_secret", context="k")
    ring = SecretBox.from_base64(new, [old])

    assert ring.decrypt(sealed, context="k") == "agh_secret"
    assert not ring.sealed_with_active_key(sealed)
    moved = ring.reencrypt(sealed, context="k")
    assert ring.sealed_with_active_key(moved)
    assert SecretBox.from_base64(new).decrypt(moved, context="k") == "agh_secret"


def test_a_ciphertext_of_a_key_no_longer_configured_does_not_decrypt() -> None:
    sealed = SecretBox.from_base64(generate_kek()).encrypt("agh_secret", context="k")
    with pytest.raises(SecretBoxError, match="not configured"):
        SecretBox.from_base64(generate_kek(), [generate_kek()]).decrypt(sealed, context="k")


def test_ciphertexts_from_before_key_ids_still_decrypt_with_the_key_that_made_them() -> None:
    # A "v1." ciphertext as the previous version wrote it (no key id).
    kek = generate_kek()
    aead = AESGCM(_derive(base64.b64decode(kek), b"alooba/secret-box/v1"))
    nonce = b"\x00" * 12
    legacy = "v1." + base64.urlsafe_b64encode(
        nonce + aead.encrypt(nonce, b"agh_legacy", b"key-1")
    ).decode("ascii")

    ring = SecretBox.from_base64(generate_kek(), [kek])

    assert ring.decrypt(legacy, context="key-1") == "agh_legacy"
    assert not ring.sealed_with_active_key(legacy)


def test_the_lookup_hash_key_is_not_the_encryption_key() -> None:
    # Configured on its own, the hashes survive a KEK rotation unchanged.
    hash_key = generate_kek()
    before = SecretBox.from_base64(generate_kek(), lookup_hash_key=hash_key)
    after = SecretBox.from_base64(generate_kek(), lookup_hash_key=hash_key)
    assert before.lookup_hash("agh_secret") == after.lookup_hash("agh_secret")


def test_pinning_the_legacy_lookup_hash_key_keeps_existing_hashes() -> None:
    kek = generate_kek()
    unpinned = SecretBox.from_base64(kek)
    pinned = SecretBox.from_base64(
        generate_kek(), [kek], lookup_hash_key=legacy_lookup_hash_key(kek)
    )
    assert pinned.lookup_hash("agh_secret") == unpinned.lookup_hash("agh_secret")
