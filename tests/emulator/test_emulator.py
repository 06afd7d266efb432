"""The emulator against a fake partner: Greenhouse's calls, the callback endpoint, and the
checks and reports that follow."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from emulator.fake_partner import COMPLETE, PARTNER_KEY, FakePartner

from greenhouse_emulator.contract import COMPLETE_WITHOUT_PROFILE_URL
from greenhouse_emulator.emulator import GreenhouseEmulator
from greenhouse_emulator.errors import ContractViolationError, PartnerError
from greenhouse_emulator.models import Candidate


@dataclass
class Reply:
    status: int
    headers: Any
    body: bytes


def _basic(key: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


async def _patch(
    http: aiohttp.ClientSession,
    url: str,
    *,
    authorization: str | None = _basic(PARTNER_KEY),
    body: bytes = b"",
    method: str = "PATCH",
) -> Reply:
    headers = {"Authorization": authorization} if authorization is not None else {}
    async with http.request(method, url, data=body, headers=headers) as response:
        return Reply(response.status, response.headers, await response.read())


async def _sent(greenhouse: GreenhouseEmulator) -> tuple[int, str]:
    """(take-home test id, partner_interview_id) of a test sent after listing the tests."""
    await greenhouse.list_tests()
    interview_id = await greenhouse.send_test("12345", Candidate())
    (record,) = greenhouse.tests.values()
    return record.take_home_test_id, interview_id


# --- Greenhouse's calls -------------------------------------------------------------------


async def test_list_tests_returns_the_partners_tests(greenhouse: GreenhouseEmulator) -> None:
    assert await greenhouse.list_tests() == [
        {"partner_test_id": "12345", "partner_test_name": "My First Test"},
        {"partner_test_id": "54321", "partner_test_name": "My Second Test"},
    ]
    assert greenhouse.violations == []


async def test_send_test_posts_the_documented_body(
    greenhouse: GreenhouseEmulator, partner: FakePartner
) -> None:
    await greenhouse.list_tests()
    interview_id = await greenhouse.send_test(
        "12345", Candidate(), sent_by="test_sender@example.org"
    )
    assert partner.sent == [
        {
            "partner_test_id": "12345",
            "candidate": {
                "first_name": "Harry",
                "last_name": "Potter",
                "preferred_name": "The Chosen One",
                "resume_url": "https://hogwarts.com/resume",
                "phone_number": "123-456-7890",
                "email": "hpotter@hogwarts.edu",
                "greenhouse_profile_url": (
                    "https://app.greenhouse.io/people/17681532?application_id=26234709"
                ),
            },
            "sent_by": "test_sender@example.org",
            "url": greenhouse.callback_url(1000),
        }
    ]
    assert greenhouse.callback_url(1000) == (
        f"https://127.0.0.1:{greenhouse.port}/integrations/testing_partners/take_home_tests/1000"
    )
    record = greenhouse.tests[1000]
    assert (record.partner_interview_id, record.status) == (interview_id, "Sent")
    assert (record.partner_test_name, record.candidate_email) == (
        "My First Test",
        "hpotter@hogwarts.edu",
    )


async def test_absent_candidate_values_are_sent_as_null(
    greenhouse: GreenhouseEmulator, partner: FakePartner
) -> None:
    candidate = Candidate(preferred_name=None, phone_number=None, resume_url=None)
    await greenhouse.send_test("12345", candidate)
    sent = partner.sent[0]
    assert sent["sent_by"] is None
    assert sent["candidate"]["preferred_name"] is None
    assert sent["candidate"]["phone_number"] is None
    assert sent["candidate"]["resume_url"] is None


async def test_each_send_gets_a_new_take_home_test_id(greenhouse: GreenhouseEmulator) -> None:
    await greenhouse.send_test("12345")
    await greenhouse.send_test("12345", take_home_test_id=2000)
    await greenhouse.send_test("12345")
    assert sorted(greenhouse.tests) == [1000, 2000, 2001]


async def test_test_status_on_demand_updates_the_record(
    greenhouse: GreenhouseEmulator, partner: FakePartner
) -> None:
    take_home_test_id, interview_id = await _sent(greenhouse)
    partner.statuses[interview_id] = {**COMPLETE, "partner_score": 92.5}
    assert (await greenhouse.test_status(interview_id))["partner_score"] == 92.5
    record = greenhouse.tests[take_home_test_id]
    assert (record.status, record.score, record.test_status_calls) == ("complete", 92.5, 1)
    assert record.report_url == "http://example.com/tests/12345"


async def test_partner_refusals_raise_partner_error(
    greenhouse: GreenhouseEmulator, partner: FakePartner
) -> None:
    with pytest.raises(PartnerError) as raised:
        await greenhouse.test_status("no-such-interview")
    assert raised.value.status == 404
    async with GreenhouseEmulator(partner.base_url, "wrong-key", tls=False) as stranger:
        with pytest.raises(PartnerError) as raised:
            await stranger.list_tests()
    assert raised.value.status == 401
    assert greenhouse.violations == []


async def test_raw_sends_anything_with_greenhouse_auth(
    greenhouse: GreenhouseEmulator, partner: FakePartner
) -> None:
    reply = await greenhouse.raw("GET", "list_tests")
    assert (reply.status, reply.json()) == (200, partner.tests)
    assert (await greenhouse.raw("GET", "/list_tests", auth=False)).status == 401
    hostile = await greenhouse.raw(
        "POST",
        "send_test",
        body=b"\xff{not json",
        headers={"Content-Type": "application/json"},
    )
    assert hostile.status == 500  # the fake partner is not robust; the emulator reports as is
    assert greenhouse.violations == []


# --- the callback endpoint -------------------------------------------------------------------


async def test_callback_with_the_key_is_answered_200_then_test_status_is_fetched(
    greenhouse: GreenhouseEmulator, partner: FakePartner, trusting_http: aiohttp.ClientSession
) -> None:
    take_home_test_id, interview_id = await _sent(greenhouse)
    partner.statuses[interview_id] = COMPLETE

    reply = await _patch(trusting_http, greenhouse.callback_url(take_home_test_id))

    assert (reply.status, reply.body) == (200, b"")
    record = await greenhouse.wait_until_complete(take_home_test_id, timeout=5)
    assert record.score == 81
    assert record.report_url == "http://example.com/tests/12345"
    assert record.metadata == COMPLETE["metadata"]
    assert (record.callbacks_received, record.test_status_calls) == (1, 1)
    assert partner.status_requests == [interview_id]
    assert greenhouse.violations == []


@pytest.mark.parametrize(
    ("authorization", "reason"),
    [
        (None, "no Authorization header"),
        (_basic("wrong-key"), "wrong API key"),
        ("Basic " + base64.b64encode(f"{PARTNER_KEY}:secret".encode()).decode(), "password"),
        (f"Bearer {PARTNER_KEY}", "not Basic"),
    ],
)
async def test_callback_without_valid_auth_is_refused_and_recorded(
    greenhouse: GreenhouseEmulator,
    partner: FakePartner,
    trusting_http: aiohttp.ClientSession,
    authorization: str | None,
    reason: str,
) -> None:
    take_home_test_id, _ = await _sent(greenhouse)

    reply = await _patch(
        trusting_http, greenhouse.callback_url(take_home_test_id), authorization=authorization
    )

    assert reply.status == 401
    (violation,) = greenhouse.violations
    assert violation.api_call == "callback"
    assert violation.take_home_test_id == take_home_test_id
    assert violation.errors[0].startswith("callback without valid auth")
    assert reason in violation.errors[0]
    assert violation.report_status is None  # the partner's requests are not reported to it
    assert greenhouse.tests[take_home_test_id].callbacks_received == 0
    assert partner.status_requests == []
    assert partner.error_reports == []


async def test_scripted_failures_come_first_then_normal_behaviour(
    greenhouse: GreenhouseEmulator, partner: FakePartner, trusting_http: aiohttp.ClientSession
) -> None:
    take_home_test_id, interview_id = await _sent(greenhouse)
    partner.statuses[interview_id] = COMPLETE
    greenhouse.callback_responses.extend([503, 503, 200])
    url = greenhouse.callback_url(take_home_test_id)

    statuses = [(await _patch(trusting_http, url)).status for _ in range(3)]

    assert statuses == [503, 503, 200]
    assert [attempt.status for attempt in greenhouse.callbacks] == [503, 503, 200]
    record = await greenhouse.wait_until_complete(take_home_test_id, timeout=5)
    assert record.callbacks_received == 1
    assert partner.status_requests == [interview_id]


async def test_callback_always_answers_until_reset(
    greenhouse: GreenhouseEmulator, trusting_http: aiohttp.ClientSession
) -> None:
    take_home_test_id, _ = await _sent(greenhouse)
    url = greenhouse.callback_url(take_home_test_id)
    greenhouse.callback_always(404)
    assert [(await _patch(trusting_http, url)).status for _ in range(2)] == [404, 404]
    greenhouse.callback_always(None)
    assert (await _patch(trusting_http, url)).status == 200


async def test_scripted_429_carries_retry_after(
    greenhouse: GreenhouseEmulator, trusting_http: aiohttp.ClientSession
) -> None:
    take_home_test_id, _ = await _sent(greenhouse)
    greenhouse.callback_retry_after = 7
    greenhouse.callback_responses.append(429)

    reply = await _patch(trusting_http, greenhouse.callback_url(take_home_test_id))

    assert reply.status == 429
    assert reply.headers["Retry-After"] == "7"
    assert greenhouse.tests[take_home_test_id].callbacks_received == 0


@pytest.mark.parametrize("take_home_test_id", ["999999999", "abc"])
async def test_callback_for_an_id_never_sent_is_404(
    greenhouse: GreenhouseEmulator, trusting_http: aiohttp.ClientSession, take_home_test_id: str
) -> None:
    url = greenhouse.callback_base_url + take_home_test_id
    assert (await _patch(trusting_http, url)).status == 404
    (violation,) = greenhouse.violations
    assert violation.api_call == "callback"
    assert "never sent" in violation.errors[0]


async def test_callback_with_a_body_is_accepted_but_recorded(
    greenhouse: GreenhouseEmulator, trusting_http: aiohttp.ClientSession
) -> None:
    take_home_test_id, _ = await _sent(greenhouse)
    url = greenhouse.callback_url(take_home_test_id)
    reply = await _patch(trusting_http, url, body=b'{"status": "complete"}')
    assert reply.status == 200
    (violation,) = greenhouse.violations
    assert violation.errors == ["callback body must be empty, got 22 bytes"]
    await greenhouse.wait_for(lambda: greenhouse.tests[take_home_test_id].test_status_calls == 1)


async def test_callback_with_another_method_is_405_and_recorded(
    greenhouse: GreenhouseEmulator, trusting_http: aiohttp.ClientSession
) -> None:
    take_home_test_id, _ = await _sent(greenhouse)
    reply = await _patch(trusting_http, greenhouse.callback_url(take_home_test_id), method="POST")
    assert (reply.status, reply.headers["Allow"]) == (405, "PATCH")
    assert greenhouse.violations[0].errors == ["callback must use PATCH, not POST"]


async def test_test_status_failing_after_the_callback_is_recorded(
    greenhouse: GreenhouseEmulator, partner: FakePartner, trusting_http: aiohttp.ClientSession
) -> None:
    take_home_test_id, interview_id = await _sent(greenhouse)
    del partner.statuses[interview_id]  # the partner PATCHes before the result is readable

    assert (await _patch(trusting_http, greenhouse.callback_url(take_home_test_id))).status == 200

    await greenhouse.wait_for(lambda: bool(greenhouse.violations))
    (violation,) = greenhouse.violations
    assert violation.api_call == "test_status"
    assert violation.errors[0].startswith("test_status answered 404 right after the callback")
    assert partner.error_reports == []


# --- contract checks and response_error reports ------------------------------------------------


async def test_complete_without_profile_url_is_recorded_and_reported(
    greenhouse: GreenhouseEmulator, partner: FakePartner, trusting_http: aiohttp.ClientSession
) -> None:
    take_home_test_id, interview_id = await _sent(greenhouse)
    partner.statuses[interview_id] = {**COMPLETE, "partner_profile_url": None}

    assert (await _patch(trusting_http, greenhouse.callback_url(take_home_test_id))).status == 200

    await greenhouse.wait_for(lambda: bool(partner.error_reports), what="a response_error report")
    assert partner.error_reports == [
        {
            "api_call": "test_status",
            "errors": [COMPLETE_WITHOUT_PROFILE_URL],
            "partner_test_id": "12345",
            "partner_test_name": "My First Test",
            "partner_interview_id": interview_id,
            "candidate_email": "hpotter@hogwarts.edu",
        }
    ]
    await greenhouse.wait_for(lambda: greenhouse.violations[0].report_status is not None)
    (violation,) = greenhouse.violations
    assert (violation.api_call, violation.errors) == ("test_status", [COMPLETE_WITHOUT_PROFILE_URL])
    assert (violation.partner_interview_id, violation.report_status) == (interview_id, 200)
    # Greenhouse refuses the invalid answer: the test still shows as sent.
    assert greenhouse.tests[take_home_test_id].status == "Sent"


async def test_nested_metadata_is_a_violation(
    greenhouse: GreenhouseEmulator, partner: FakePartner
) -> None:
    take_home_test_id, interview_id = await _sent(greenhouse)
    partner.statuses[interview_id] = {**COMPLETE, "metadata": {"Skills": {"SQL": 90}}}

    with pytest.raises(ContractViolationError) as raised:
        await greenhouse.test_status(interview_id)

    assert raised.value.violation is greenhouse.violations[0]
    assert raised.value.violation.errors == [
        "metadata['Skills'] must be a JavaScript primitive (string, number, boolean or null), "
        "got object"
    ]
    assert [report["api_call"] for report in partner.error_reports] == ["test_status"]
    assert greenhouse.tests[take_home_test_id].metadata is None


async def test_list_tests_violation_reports_only_api_call_and_errors(
    greenhouse: GreenhouseEmulator, partner: FakePartner
) -> None:
    partner.tests = {"partner_test_ids": []}
    with pytest.raises(ContractViolationError):
        await greenhouse.list_tests()
    assert partner.error_reports == [
        {"api_call": "list_tests", "errors": ["response must be a JSON array of tests, got object"]}
    ]


async def test_send_test_violation_reports_what_greenhouse_knows(
    greenhouse: GreenhouseEmulator, partner: FakePartner
) -> None:
    await greenhouse.list_tests()
    partner.send_test_reply = {"partner_interview_id": 98765}
    with pytest.raises(ContractViolationError):
        await greenhouse.send_test("54321", Candidate(email="ron@hogwarts.edu"))
    assert partner.error_reports == [
        {
            "api_call": "send_test",
            "errors": ["partner_interview_id must be a string, got number"],
            "partner_test_id": "54321",
            "partner_test_name": "My Second Test",
            "partner_interview_id": None,
            "candidate_email": "ron@hogwarts.edu",
        }
    ]
    assert greenhouse.tests == {}


async def test_response_error_not_answering_200_is_itself_recorded(
    greenhouse: GreenhouseEmulator, partner: FakePartner
) -> None:
    partner.tests = []
    partner.send_test_reply = {}
    partner.response_error_status = 500
    with pytest.raises(ContractViolationError):
        await greenhouse.send_test("12345")
    assert [(v.api_call, v.report_status) for v in greenhouse.violations] == [
        ("send_test", 500),
        ("response_error", None),
    ]
    assert greenhouse.violations[1].errors == ["response_error answered 500, expected 200"]


async def test_reused_interview_id_for_another_test_is_recorded(
    greenhouse: GreenhouseEmulator, partner: FakePartner
) -> None:
    partner.send_test_reply = {"partner_interview_id": "same"}
    await greenhouse.send_test("12345")
    await greenhouse.send_test("12345", take_home_test_id=1000)  # a repeat: fine
    assert greenhouse.violations == []
    await greenhouse.send_test("12345")
    (violation,) = greenhouse.violations
    assert violation.errors == [
        "partner_interview_id 'same' was already returned for take-home test 1000"
    ]


# --- inspection and waiting -------------------------------------------------------------------


async def test_inspection_endpoints_show_the_records(
    greenhouse: GreenhouseEmulator, trusting_http: aiohttp.ClientSession
) -> None:
    take_home_test_id, interview_id = await _sent(greenhouse)
    await _patch(trusting_http, greenhouse.callback_base_url + "0")
    async with trusting_http.get(f"{greenhouse.base_url}/_emulator/tests") as response:
        (test,) = await response.json()
    assert test["take_home_test_id"] == take_home_test_id
    assert test["partner_interview_id"] == interview_id
    assert test["candidate_email"] == "hpotter@hogwarts.edu"
    assert test["status"] == "Sent"
    async with trusting_http.get(f"{greenhouse.base_url}/_emulator/violations") as response:
        (violation,) = await response.json()
    assert violation["api_call"] == "callback"


async def test_wait_for_gives_up_at_the_deadline(greenhouse: GreenhouseEmulator) -> None:
    with pytest.raises(TimeoutError, match="waiting for never"):
        await greenhouse.wait_for(lambda: False, timeout=0.1, what="never")
