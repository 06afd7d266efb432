"""Secrets at rest: AES-GCM bound to a context, and keyed lookup hashes."""

from __future__ import annotations

import base64

import pytest

from alooba_common.secrets import SecretBox, SecretBoxError, generate_kek


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
