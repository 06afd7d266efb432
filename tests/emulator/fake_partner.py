"""A small fake partner, only to test the emulator itself: the four endpoints, with
answers the tests can bend."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from greenhouse_emulator.auth import authorization_problem

PARTNER_KEY = "0d031d8227eafa61dc375a6c2e067e24"

NOT_STARTED = {
    "partner_status": "sent",
    "partner_profile_url": None,
    "partner_score": None,
    "metadata": None,
}

# The docs' test_status example.
COMPLETE = {
    "partner_status": "complete",
    "partner_profile_url": "http://example.com/tests/12345",
    "partner_score": 81,
    "metadata": {
        "Started At": "10:15 AM 26 March 2014",
        "Completed At": "10:15 AM 26 March 2014",
        "Notes": "This candidate did extremely well!",
    },
}


@dataclass
class FakePartner:
    """The partner endpoints; `statuses` holds each interview's test_status answer."""

    key: str = PARTNER_KEY
    tests: Any = field(
        default_factory=lambda: [
            {"partner_test_id": "12345", "partner_test_name": "My First Test"},
            {"partner_test_id": "54321", "partner_test_name": "My Second Test"},
        ]
    )
    send_test_reply: Any = None  # None: a fresh {"partner_interview_id": "<n>"}
    statuses: dict[str, Any] = field(default_factory=dict)
    response_error_status: int = 200
    sent: list[dict[str, Any]] = field(default_factory=list)
    status_requests: list[str] = field(default_factory=list)
    error_reports: list[dict[str, Any]] = field(default_factory=list)
    base_url: str = ""

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._auth])
        app.router.add_get("/v1/greenhouse/list_tests", self._list_tests)
        app.router.add_post("/v1/greenhouse/send_test", self._send_test)
        app.router.add_get("/v1/greenhouse/test_status", self._test_status)
        app.router.add_post("/v1/greenhouse/response_error", self._response_error)
        return app

    @web.middleware
    async def _auth(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if authorization_problem(request.headers.get("Authorization"), self.key) is not None:
            return web.json_response({"error": "unauthorized"}, status=401)
        response: web.StreamResponse = await handler(request)
        return response

    async def _list_tests(self, request: web.Request) -> web.Response:
        return web.json_response(self.tests)

    async def _send_test(self, request: web.Request) -> web.Response:
        self.sent.append(await request.json())
        if self.send_test_reply is not None:
            return web.json_response(self.send_test_reply)
        interview_id = str(len(self.sent))
        self.statuses.setdefault(interview_id, NOT_STARTED)
        return web.json_response({"partner_interview_id": interview_id})

    async def _test_status(self, request: web.Request) -> web.Response:
        interview_id = request.query["partner_interview_id"]
        self.status_requests.append(interview_id)
        if interview_id not in self.statuses:
            return web.json_response({"error": "not found"}, status=404)
        return web.json_response(self.statuses[interview_id])

    async def _response_error(self, request: web.Request) -> web.Response:
        self.error_reports.append(await request.json())
        return web.json_response({"status": 200}, status=self.response_error_status)
