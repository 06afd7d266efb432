"""Properties of the Greenhouse profile URL parser (assessments.app.greenhouse): the ids in
the documented shape come back out, and anything else is InvalidArgument (a 422), never
another exception (which the gRPC layer turns into INTERNAL, a 500 at the gateway)."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from alooba_common.errors import InvalidArgument
from assessments.app.greenhouse import ProfileIds, parse_profile_url
from gateway.schemas import SendTestCandidate

ids = st.integers(min_value=0, max_value=10**18 - 1)
hosts = st.sampled_from(["app.greenhouse.io", "app.eu.greenhouse.io", "localhost:8443"])


@given(st.sampled_from(["http", "https"]), hosts, ids, st.none() | ids)
def test_the_documented_shape_round_trips(
    scheme: str, host: str, candidate_id: int, application_id: int | None
) -> None:
    url = f"{scheme}://{host}/people/{candidate_id}"
    if application_id is not None:
        url += f"?application_id={application_id}"
    assert parse_profile_url(url) == ProfileIds(candidate_id, application_id)


@given(ids, st.text(max_size=30))
def test_a_non_numeric_application_id_is_ignored(candidate_id: int, junk: str) -> None:
    url = f"https://app.greenhouse.io/people/{candidate_id}?application_id=x{junk}"
    assert parse_profile_url(url).application_id is None


def _outcome(url: str) -> ProfileIds | None:
    try:
        return parse_profile_url(url)
    except InvalidArgument:
        return None


def _accepted_by_the_gateway(url: str) -> bool:
    try:
        SendTestCandidate(first_name="A", last_name="B", email="a@b.co", greenhouse_profile_url=url)
    except ValueError:
        return False
    return True


@given(st.text(max_size=300))
@example("http://[abc/people/1")
@example("https://app.greenhouse.io:99999/people/1")
@example("https://app.greenhouse.io/people/" + "9" * 19)
def test_garbage_that_passes_the_gateway_is_invalid_argument_and_nothing_else(url: str) -> None:
    # The gateway refuses URLs that do not parse (422) before they reach the parser.
    if _accepted_by_the_gateway(url):
        _outcome(url)


def test_the_parser_alone_refuses_an_unparseable_url_with_invalid_argument() -> None:
    assert _outcome("http://[abc/people/1") is None


@given(ids.filter(lambda n: n > 0))
def test_only_ascii_digits_make_a_candidate_id(candidate_id: int) -> None:
    fullwidth = str(candidate_id).translate({ord("0") + d: 0xFF10 + d for d in range(10)})
    assert _outcome(f"https://app.greenhouse.io/people/{fullwidth}") is None
