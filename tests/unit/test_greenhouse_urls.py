"""The values read out of send_test: the profile URL's ids and the callback URL."""

from __future__ import annotations

import pytest

from alooba_common.errors import InvalidArgument
from assessments.app.greenhouse import (
    MAX_URL_LENGTH,
    ProfileIds,
    check_callback_url,
    host_allowed,
    parse_profile_url,
)

GREENHOUSE = ("*.greenhouse.io",)
CALLBACK = "https://app.greenhouse.io/integrations/testing_partners/take_home_tests/12345"


# --- parse_profile_url ---------------------------------------------------------


def test_documented_profile_url_yields_candidate_and_application_ids() -> None:
    url = "https://app.greenhouse.io/people/17681532?application_id=26234709"
    assert parse_profile_url(url) == ProfileIds(candidate_id=17681532, application_id=26234709)


def test_profile_url_without_application_id_yields_none_for_it() -> None:
    url = "https://app.greenhouse.io/people/17681532"
    assert parse_profile_url(url) == ProfileIds(candidate_id=17681532, application_id=None)


def test_profile_url_with_trailing_slash_is_accepted() -> None:
    url = "https://app.greenhouse.io/people/17681532/?application_id=26234709"
    assert parse_profile_url(url) == ProfileIds(candidate_id=17681532, application_id=26234709)


def test_non_numeric_application_id_is_ignored() -> None:
    url = "https://app.greenhouse.io/people/17681532?application_id=abc"
    assert parse_profile_url(url).application_id is None


@pytest.mark.parametrize(
    "url",
    [
        "https://app.greenhouse.io/people/harry?application_id=26234709",
        "https://app.greenhouse.io/people/?application_id=26234709",
        "https://app.greenhouse.io/people/12x34",
        "https://app.greenhouse.io/candidates/17681532",
    ],
)
def test_profile_url_without_numeric_candidate_id_is_invalid(url: str) -> None:
    with pytest.raises(InvalidArgument):
        parse_profile_url(url)


@pytest.mark.parametrize(
    "url",
    ["/people/17681532", "app.greenhouse.io/people/17681532", "ftp://app.greenhouse.io/people/1"],
)
def test_profile_url_that_is_not_absolute_http_is_invalid(url: str) -> None:
    with pytest.raises(InvalidArgument):
        parse_profile_url(url)


def test_over_long_profile_url_is_invalid() -> None:
    url = "https://app.greenhouse.io/people/17681532?pad=" + "x" * MAX_URL_LENGTH
    with pytest.raises(InvalidArgument):
        parse_profile_url(url)


# --- host_allowed ----------------------------------------------------------------


@pytest.mark.parametrize(
    "host", ["app.greenhouse.io", "APP.Greenhouse.IO", "app.greenhouse.io.", "a.b.greenhouse.io"]
)
def test_wildcard_matches_subdomains(host: str) -> None:
    assert host_allowed(host, GREENHOUSE)


@pytest.mark.parametrize(
    "host",
    ["greenhouse.io", "greenhouse.io.evil.com", "evilgreenhouse.io", "app.greenhouse.com", ""],
)
def test_wildcard_does_not_match_the_bare_domain_or_lookalikes(host: str) -> None:
    assert not host_allowed(host, GREENHOUSE)


def test_exact_entry_matches_only_that_host() -> None:
    allowlist = ("callbacks.example.com",)
    assert host_allowed("callbacks.example.com", allowlist)
    assert host_allowed("Callbacks.Example.com", allowlist)
    assert not host_allowed("x.callbacks.example.com", allowlist)
    assert not host_allowed("example.com", allowlist)


# --- check_callback_url ------------------------------------------------------------


def test_https_url_on_an_allowed_host_is_returned_unchanged() -> None:
    assert check_callback_url(CALLBACK, GREENHOUSE) == CALLBACK


def test_http_callback_is_refused() -> None:
    with pytest.raises(InvalidArgument):
        check_callback_url(CALLBACK.replace("https://", "http://"), GREENHOUSE)


@pytest.mark.parametrize(
    "url",
    [
        "https://user:pass@app.greenhouse.io/take_home_tests/1",
        "https://user@app.greenhouse.io/take_home_tests/1",
        "https://:pass@app.greenhouse.io/take_home_tests/1",
    ],
)
def test_callback_with_credentials_is_refused(url: str) -> None:
    with pytest.raises(InvalidArgument):
        check_callback_url(url, GREENHOUSE)


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example.com/x",
        "https://greenhouse.io.evil.com/x",
        "https://evilgreenhouse.io/x",
        "https://app.greenhouse.io@evil.example.com/x",
    ],
)
def test_callback_on_a_disallowed_host_is_refused(url: str) -> None:
    with pytest.raises(InvalidArgument):
        check_callback_url(url, GREENHOUSE)


@pytest.mark.parametrize(
    "url",
    [
        "https://app.greenhouse.io:99999/x",
        "https://app.greenhouse.io:abc/x",
        "https://app.greenhouse.io:-1/x",
    ],
)
def test_callback_with_a_bad_port_is_refused(url: str) -> None:
    with pytest.raises(InvalidArgument):
        check_callback_url(url, GREENHOUSE)


def test_over_long_callback_is_refused() -> None:
    url = CALLBACK + "?pad=" + "x" * MAX_URL_LENGTH
    with pytest.raises(InvalidArgument):
        check_callback_url(url, GREENHOUSE)


@pytest.mark.parametrize("url", ["", "https:///x", "app.greenhouse.io/x", "/take_home_tests/1"])
def test_callback_that_is_not_an_absolute_https_url_is_refused(url: str) -> None:
    with pytest.raises(InvalidArgument):
        check_callback_url(url, GREENHOUSE)


# --- finding 4j: the check parses as the HTTP client does, and allows port 443 only ----


@pytest.mark.parametrize(
    "url",
    [
        # Accepted by a urlsplit-based check, refused (or read differently) by yarl,
        # which is what aiohttp sends with.
        "https://app\u200b.greenhouse.io/x",
        "https://app.greenhouse.io\u200d/x",
        "https://evil.example%2e.greenhouse.io/x",
        "https://app.greenhouse.io\\@evil.example/x",
    ],
)
def test_a_host_the_http_client_would_not_read_the_same_way_is_refused(url: str) -> None:
    with pytest.raises(InvalidArgument):
        check_callback_url(url, GREENHOUSE)


@pytest.mark.parametrize("port", [6379, 80, 8443, 1])
def test_a_port_other_than_443_is_refused(port: int) -> None:
    with pytest.raises(InvalidArgument, match="443"):
        check_callback_url(f"https://app.greenhouse.io:{port}/take_home_tests/1", GREENHOUSE)


def test_port_443_written_out_is_accepted() -> None:
    url = "https://app.greenhouse.io:443/take_home_tests/1"
    assert check_callback_url(url, GREENHOUSE) == url


@pytest.mark.parametrize(
    "url",
    [
        # The host the client will connect to is judged, in its IDNA (ASCII) form.
        "https://\uff41\uff50\uff50.greenhouse.io/take_home_tests/1",  # fullwidth "app"
        "https://bücher.greenhouse.io/take_home_tests/1",
        "https://APP.Greenhouse.IO./take_home_tests/1",
    ],
)
def test_hosts_are_judged_as_the_client_normalizes_them(url: str) -> None:
    assert check_callback_url(url, GREENHOUSE) == url


def test_a_host_that_normalizes_off_the_list_is_refused() -> None:
    # U+3002 (ideographic full stop) is a dot to IDNA: the client would go to evil.example.
    with pytest.raises(InvalidArgument):
        check_callback_url("https://app.greenhouse.io\u3002evil.example/x", GREENHOUSE)


def test_an_allow_list_entry_may_name_another_port_and_then_allows_only_it() -> None:
    # How tests and the demo allow a loopback emulator: "127.0.0.1:8443".
    allowlist = ("127.0.0.1:8443", "[::1]:9443")
    assert check_callback_url("https://127.0.0.1:8443/t/1", allowlist)
    assert check_callback_url("https://[::1]:9443/t/1", allowlist)
    for refused in ("https://127.0.0.1/t/1", "https://127.0.0.1:8444/t/1"):
        with pytest.raises(InvalidArgument):
            check_callback_url(refused, allowlist)
