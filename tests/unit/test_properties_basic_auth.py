"""Properties of the Basic auth parser: Greenhouse's header round-trips, anything else is
a 401 RequestError and never another exception (which would be a 500)."""

from __future__ import annotations

import base64

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from gateway.auth import partner_key_from_header
from gateway.errors import RequestError

# A key is any text without a colon (the colon ends the username) or a control character
# (no key holds one: finding 4k), and never empty.
keys = st.text(
    st.characters(exclude_characters=":", exclude_categories=("Cc",), codec="utf-8"),
    min_size=1,
    max_size=170,
)


def refusal(header: str | None) -> int | None:
    """The status of the RequestError raised, None if the header is accepted; any other
    exception propagates (and fails the test)."""
    try:
        partner_key_from_header(header)
    except RequestError as error:
        return error.status
    return None


def basic(credentials: str, scheme: str = "Basic") -> str:
    return f"{scheme} " + base64.b64encode(credentials.encode()).decode()


@given(keys, st.sampled_from(["Basic", "basic", "BASIC"]), st.sampled_from(["", " ", "  "]))
def test_greenhouse_header_yields_the_key(key: str, scheme: str, padding: str) -> None:
    assert partner_key_from_header(padding + basic(f"{key}:", scheme) + padding) == key


@given(keys, st.text(min_size=1, max_size=50))
def test_a_non_empty_password_is_refused(key: str, password: str) -> None:
    with pytest.raises(RequestError) as raised:
        partner_key_from_header(basic(f"{key}:{password}"))
    assert raised.value.status == 401


@given(st.one_of(st.none(), st.text(max_size=2000)))
# Non-ASCII after the scheme (aiohttp hands undecodable header bytes over as surrogates):
# base64 refused it with a ValueError that escaped as a 500.
@example("Basic é")
@example("Basic \udce9\udcff")
@example("Basic " + "A" * 2000)
@example("Basic ====")
@example("Basic Og==")  # ":" alone: no key
def test_garbage_is_a_401_request_error_and_nothing_else(header: str | None) -> None:
    assert refusal(header) in (None, 401)


@given(st.binary(max_size=300))
def test_any_decoded_credentials_are_a_key_or_a_401(raw: bytes) -> None:
    header = "Basic " + base64.b64encode(raw).decode()
    if refusal(header) is None:
        assert raw == f"{partner_key_from_header(header)}:".encode()
    else:
        assert refusal(header) == 401
