"""Greenhouse's Assessment Partner API: list_tests, send_test, test_status, response_error.

Shapes follow Greenhouse's documentation to the letter: list_tests is a bare array,
send_test answers a single-key object, absent values are null, never missing.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from google.protobuf import json_format

from alooba.assessments.v1 import assessments_pb2 as pb
from alooba_common.validation import has_control_characters
from gateway.auth import partner_key_from_header
from gateway.errors import RequestError
from gateway.keys import BACKENDS
from gateway.schemas import (
    BodyT,
    ResponseErrorBody,
    SendTestBody,
    parse_body,
)


def _partner_key(request: web.Request) -> str:
    return partner_key_from_header(request.headers.get("Authorization"))


async def _authenticated_body(request: web.Request, key: str, model: type[BodyT]) -> BodyT:
    """The parsed body; when it is invalid, the key is checked first so that a wrong key
    is reported as 401 whatever the body holds."""
    try:
        return parse_body(model, await request.read())
    except RequestError:
        await _authenticate(request, key)
        raise


async def _authenticate(request: web.Request, key: str) -> None:
    """Raises (401) unless the key is valid: checked before a bad request is reported."""
    backends = request.app[BACKENDS]
    await backends.partner.Authenticate(
        pb.AuthenticateRequest(partner_key=key), timeout=backends.timeout
    )


async def list_tests(request: web.Request) -> web.Response:
    key = _partner_key(request)
    backends = request.app[BACKENDS]
    response = await backends.partner.ListTests(
        pb.ListTestsRequest(partner_key=key), timeout=backends.timeout
    )
    return web.json_response(
        [
            {"partner_test_id": test.partner_test_id, "partner_test_name": test.partner_test_name}
            for test in response.tests
        ]
    )


async def send_test(request: web.Request) -> web.Response:
    key = _partner_key(request)
    body = await _authenticated_body(request, key, SendTestBody)
    candidate = body.candidate
    backends = request.app[BACKENDS]
    response = await backends.partner.SendTest(
        pb.SendTestRequest(
            partner_key=key,
            partner_test_id=body.partner_test_id,
            candidate=pb.SendTestCandidate(
                first_name=candidate.first_name,
                last_name=candidate.last_name,
                preferred_name=candidate.preferred_name,
                resume_url=candidate.resume_url,
                phone_number=candidate.phone_number,
                email=candidate.email,
                greenhouse_profile_url=candidate.greenhouse_profile_url or "",
            ),
            sent_by=body.sent_by,
            url=body.url,
        ),
        timeout=backends.timeout,
    )
    return web.json_response({"partner_interview_id": response.partner_interview_id})


async def test_status(request: web.Request) -> web.Response:
    key = _partner_key(request)
    interview_ids = request.query.getall("partner_interview_id", [])
    if len(interview_ids) != 1 or not interview_ids[0].strip():
        await _authenticate(request, key)
        raise RequestError(400, "exactly one partner_interview_id query parameter is required")
    if has_control_characters(interview_ids[0]) or len(interview_ids[0]) > 200:
        await _authenticate(request, key)
        # No interview id looks like this; answering 404 also tells nothing about ours.
        raise RequestError(404, "no such partner_interview_id")
    backends = request.app[BACKENDS]
    response = await backends.partner.GetTestStatus(
        pb.GetTestStatusRequest(partner_key=key, partner_interview_id=interview_ids[0]),
        timeout=backends.timeout,
    )
    return web.json_response(
        {
            "partner_status": response.partner_status,
            "partner_profile_url": (
                response.partner_profile_url if response.HasField("partner_profile_url") else None
            ),
            "partner_score": (
                _number(response.partner_score) if response.HasField("partner_score") else None
            ),
            "metadata": (
                {
                    label: _number(value) if isinstance(value, float) else value
                    for label, value in json_format.MessageToDict(response.metadata).items()
                }
                if response.HasField("metadata")
                else None
            ),
        }
    )


async def response_error(request: web.Request) -> web.Response:
    key = _partner_key(request)
    body = await _authenticated_body(request, key, ResponseErrorBody)
    backends = request.app[BACKENDS]
    await backends.partner.RecordResponseError(
        pb.RecordResponseErrorRequest(
            partner_key=key,
            api_call=body.api_call,
            errors=body.errors,
            partner_test_id=body.partner_test_id,
            partner_test_name=body.partner_test_name,
            partner_interview_id=body.partner_interview_id,
            candidate_email_present=body.candidate_email is not None,
        ),
        timeout=backends.timeout,
    )
    # Greenhouse expects a 200; its documented example body is {"status": 200}.
    return web.json_response({"status": 200})


def _number(value: float) -> Any:
    """81.0 is shown as 81: Greenhouse displays numbers as given (protobuf carries every
    number as a double)."""
    return int(value) if value.is_integer() else value
