"""The Authorization header as Greenhouse sends it: Basic base64("<key>:")."""

from __future__ import annotations

import base64

import pytest

from gateway.auth import partner_key_from_header
from gateway.errors import RequestError


def basic(credentials: str) -> str:
    return "Basic " + base64.b64encode(credentials.encode()).decode()


def refusal_status(header: str | None) -> int:
    with pytest.raises(RequestError) as raised:
        partner_key_from_header(header)
    return raised.value.status


def test_key_is_the_username_of_basic_credentials_with_an_empty_password() -> None:
    assert partner_key_from_header(basic("0d031d8227eafa61dc375a6c2e067e24:")) == (
        "0d031d8227eafa61dc375a6c2e067e24"
    )


def test_greenhouse_documented_sample_header_yields_its_key() -> None:
    header = "Basic MGQwMzFkODIyN2VhZmE2MWRjMzc1YTZjMmUwNjdlMjQ6"
    assert partner_key_from_header(header) == "0d031d8227eafa61dc375a6c2e067e24"


def test_scheme_name_is_case_insensitive() -> None:
    assert partner_key_from_header("basic " + basic("agh_key:").split(" ", 1)[1]) == "agh_key"


@pytest.mark.parametrize("header", [None, ""])
def test_missing_header_is_401(header: str | None) -> None:
    assert refusal_status(header) == 401


@pytest.mark.parametrize("header", ["Bearer agh_key", "Digest username=agh_key", "Basic", "Basic "])
def test_other_scheme_or_no_credentials_is_401(header: str) -> None:
    assert refusal_status(header) == 401


@pytest.mark.parametrize("encoded", ["!!!not-base64!!!", "YWdoX2tleTo", "%%%%"])
def test_bad_base64_is_401(encoded: str) -> None:
    assert refusal_status(f"Basic {encoded}") == 401


def test_credentials_that_are_not_utf8_are_401() -> None:
    assert refusal_status("Basic " + base64.b64encode(b"\xff\xfe:").decode()) == 401


def test_non_empty_password_is_401() -> None:
    assert refusal_status(basic("agh_key:secret")) == 401


def test_credentials_without_a_colon_are_401() -> None:
    assert refusal_status(basic("agh_key")) == 401


def test_empty_key_is_401() -> None:
    assert refusal_status(basic(":")) == 401


def test_over_long_header_is_401() -> None:
    assert refusal_status(basic("k" * 2000 + ":")) == 401


@pytest.mark.parametrize("key", ["agh_abc\x00def", "agh_abc\x1bdef", "agh_abc\tdef"])
def test_a_control_character_in_the_key_is_401(key: str) -> None:
    assert refusal_status(basic(f"{key}:")) == 401
