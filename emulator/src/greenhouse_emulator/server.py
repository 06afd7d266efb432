"""The HTTP side Greenhouse hosts: the callback PATCH endpoint, plus read-only inspection
endpoints for people and tests (`/_emulator/...`).

The decisions (auth, scripted faults, records) belong to the emulator; this module turns
them into HTTP, and makes sure the answer is on the wire before the emulator reacts to an
accepted callback, as Greenhouse answers the PATCH and then calls test_status.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from aiohttp import web

CALLBACK_PATH: Final = "/integrations/testing_partners/take_home_tests/{take_home_test_id}"


@dataclass(frozen=True)
class CallbackRequest:
    """What arrived at a callback URL."""

    method: str
    take_home_test_id: str
    authorization: str | None
    body: bytes


@dataclass(frozen=True)
class CallbackAnswer:
    """How to answer it. `accepted` is the take-home test id when the callback counts as
    Greenhouse's "test completed" signal."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    accepted: int | None = None


class CallbackDesk(Protocol):
    """The emulator as the server sees it."""

    def answer_callback(self, request: CallbackRequest) -> CallbackAnswer:
        """Decide the answer to a request at a callback URL (and record it)."""
        ...

    def callback_answered(self, take_home_test_id: int) -> None:
        """Called once an accepted callback's answer has been sent."""
        ...

    def inspection(self) -> Mapping[str, list[dict[str, Any]]]:
        """JSON-ready records by name: "tests", "violations", "callbacks", "webhooks"."""
        ...


_DESK = web.AppKey("desk", CallbackDesk)


async def _callback(request: web.Request) -> web.StreamResponse:
    desk = request.app[_DESK]
    answer = desk.answer_callback(
        CallbackRequest(
            method=request.method,
            take_home_test_id=request.match_info["take_home_test_id"],
            authorization=request.headers.get("Authorization"),
            body=await request.read(),
        )
    )
    # "The response will return only the HTTP status code": no body, whatever the status.
    response = web.Response(status=answer.status, headers=answer.headers)
    if answer.accepted is not None:
        await response.prepare(request)
        await response.write_eof()
        desk.callback_answered(answer.accepted)
    return response


def _inspect(name: str) -> Any:
    async def handler(request: web.Request) -> web.Response:
        return web.json_response(request.app[_DESK].inspection()[name])

    return handler


def create_app(desk: CallbackDesk) -> web.Application:
    """The emulator's HTTP application."""
    app = web.Application()
    app[_DESK] = desk
    # Every method is routed here so a wrong one is recorded, not just refused.
    app.router.add_route("*", CALLBACK_PATH, _callback)
    for name in ("tests", "violations", "callbacks", "webhooks"):
        app.router.add_get(f"/_emulator/{name}", _inspect(name))
    return app
