"""The Harvest emulator's HTTP application: `/v1/...`, `/v3/...` and `/token`.

Every API request goes through one pipeline, in this order:
1. an injected fault (faults.py) answers at once, before Greenhouse sees the request,
   unless it is a timeout, which lets the request through and delays the answer;
2. authentication (401);
3. the rate limit, per credential (429), counting every authenticated request;
4. the endpoint's permission (v1: 401; v3: 403 insufficient_scope);
5. a GET with a body is a 403 (reference §3.6: "ensure that you're not supplying body
   information in your GET calls");
6. for a write, the acting user (v1 On-Behalf-Of: 422 if it is not an active user; v3
   sub: 403 without one), who must be a Site Admin (403);
7. validation and lookup (422, 404), then the change.
Every answer after step 3 but a 429 carries X-RateLimit-Limit and X-RateLimit-Remaining,
as does an injected failure (other than a 429) of a request that would authenticate.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

from aiohttp import web
from multidict import MultiMapping

from greenhouse_emulator.harvest.answers import (
    Answer,
    HarvestError,
    field_error,
    no_access,
    validation_error,
)
from greenhouse_emulator.harvest.endpoints import ENDPOINTS
from greenhouse_emulator.harvest.faults import TIMEOUT
from greenhouse_emulator.harvest.records import HarvestRequest
from greenhouse_emulator.harvest.routing import (
    ApiVersion,
    Call,
    Endpoint,
    Listing,
    Principal,
)
from greenhouse_emulator.harvest.service import Service
from greenhouse_emulator.harvest.v1 import V1
from greenhouse_emulator.harvest.v3 import TOKEN_PATH, V3, token_endpoint

RATE_LIMITED = {"message": "Rate limit exceeded"}
_VERSIONS: tuple[ApiVersion, ...] = (V1(), V3())


def _response(answer: Answer) -> web.Response:
    return web.json_response(answer.body, status=answer.status, headers=dict(answer.headers))


def _fault_answer(status: int) -> Answer:
    if status == 429:
        return Answer(429, dict(RATE_LIMITED), {"Retry-After": "1"})
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return Answer(status, {"message": phrase})


def _json_body(raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise validation_error([field_error("The body is not valid JSON", "body")]) from error


def _decide(
    service: Service,
    version: ApiVersion,
    endpoint: Endpoint,
    request: web.Request,
    body: bytes,
    now: float,
) -> tuple[Answer, Principal | None]:
    """Steps 2-7 of the pipeline."""
    principal = version.authenticate(service, request.headers, now)
    if isinstance(principal, Answer):
        return principal, None
    settings = service.settings
    verdict = service.limiter.check(
        principal.credential, settings.rate_limit, settings.rate_window_seconds, now
    )
    if not verdict.allowed:
        return Answer(429, dict(RATE_LIMITED), verdict.headers()), principal
    try:
        answer = _permitted(service, version, endpoint, request, principal, body)
    except HarvestError as error:
        answer = error.answer
    return Answer(answer.status, answer.body, {**answer.headers, **verdict.headers()}), principal


def _permitted(
    service: Service,
    version: ApiVersion,
    endpoint: Endpoint,
    request: web.Request,
    principal: Principal,
    body: bytes,
) -> Answer:
    """Steps 4-7: everything after authentication and the rate limit."""
    refusal = version.refusal(endpoint, principal)
    if refusal is not None:
        return refusal
    if request.method == "GET" and body.strip():
        raise no_access()
    acting_user = (
        version.acting_user(service, principal, request.headers) if endpoint.write else None
    )
    parsed = _json_body(body) if endpoint.method in ("POST", "PATCH", "PUT") else None
    query: MultiMapping[str] = request.rel_url.query
    pager = None
    if endpoint.v1_paging is not None:
        pager = version.pager(service, endpoint, request.path, query)
        query = pager.query
    call = Call(
        organisation=service.organisation,
        version=version.name,
        match_info=dict(request.match_info),
        query=query,
        body=parsed,
        acting_user=acting_user,
    )
    result = endpoint.handler(call)
    if isinstance(result, Listing):
        if pager is None:
            raise TypeError(f"{endpoint.name} returned a list without a pager")
        return pager.answer(result.items)
    return result


def _api_handler(
    service: Service, version: ApiVersion, endpoint: Endpoint
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        now = time.monotonic()
        body = await request.read()
        fault = service.faults.draw(service.next_statuses, now)
        principal: Principal | None = None
        if fault is not None and fault != TIMEOUT:
            answer = _fault_answer(fault)
            credential = version.identify(service, request.headers, now)
            if credential is not None and answer.status != 429:
                settings = service.settings
                standing = service.limiter.peek(
                    credential, settings.rate_limit, settings.rate_window_seconds, now
                )
                answer = Answer(answer.status, answer.body, standing.headers())
        else:
            answer, principal = _decide(service, version, endpoint, request, body, now)
            credential = principal.credential if principal is not None else None
        service.requests.append(
            HarvestRequest(
                at=now,
                credential=credential,
                method=request.method,
                path=request.path,
                status=TIMEOUT if fault == TIMEOUT else answer.status,
                on_behalf_of=version.on_behalf_of(principal, request.headers),
                version=version.name,
                query=request.query_string,
                fault=None if fault is None else "timeout" if fault == TIMEOUT else "injected",
                late_status=answer.status if fault == TIMEOUT else None,
            )
        )
        if fault == TIMEOUT:
            await service.hang(service.faults.hang_seconds)
        return _response(answer)

    return handle


def create_app(service: Service) -> web.Application:
    """The Harvest emulator's application, serving `service`."""
    app = web.Application()

    async def token(request: web.Request) -> web.StreamResponse:
        return await token_endpoint(service, request)

    app.router.add_post(TOKEN_PATH, token)
    for version in _VERSIONS:
        for endpoint in ENDPOINTS:
            app.router.add_route(
                endpoint.method, version.path(endpoint), _api_handler(service, version, endpoint)
            )
    return app
