"""The Harvest emulator's HTTP application: `/v1/...`, `/v3/...` and `/token`.

Every API request goes through one pipeline, in this order:
1. routing: an unknown path is a 404 before anything else (v3: E15, "v3 routes before it
   authenticates");
2. an injected fault (faults.py) answers at once, before Greenhouse sees the request,
   unless it is a timeout, which lets the request through and delays the answer;
3. authentication (401);
4. the rate limit, per credential (429), counting every authenticated request;
5. the endpoint's permission (v1: 401) or scope (v3: 403);
6. a GET with a body is a 403 (reference §3.6: "ensure that you're not supplying body
   information in your GET calls");
7. for a v3 read, its query parameters (E3) and whether its reader is a Site Admin (E6);
8. for a write, the acting user (v1 On-Behalf-Of: 422 if it is not an active user; v3
   sub: 403 without one), who must be a Site Admin (403);
9. for a v3 create with an Idempotency-Key, when keys are honoured (E5), the first answer;
10. validation and lookup (422, 404), then the change.
Every answer after step 4 but a v1 429 carries the version's rate-limit headers, as does
an injected failure (other than a 429) of a request that would authenticate.
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
    NOT_FOUND_BODY,
    Answer,
    HarvestError,
    field_error,
    no_access,
    validation_error,
)
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
from greenhouse_emulator.harvest.v3 import IDEMPOTENCY_KEY, TOKEN_PATH, V3, token_endpoint

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
    """Steps 3-10 of the pipeline."""
    principal = version.authenticate(service, request.headers, now)
    if isinstance(principal, Answer):
        return principal, None
    limiter, window = version.limiter(service)
    verdict = limiter.check(
        principal.credential, service.settings.rate_limit, window, now, time.time()
    )
    if not verdict.allowed:
        return Answer(429, dict(RATE_LIMITED), verdict.headers()), principal
    try:
        answer = _permitted(service, version, endpoint, request, principal, body)
    except HarvestError as error:
        answer = error.answer
    answer = version.shaped(answer)
    return Answer(answer.status, answer.body, {**answer.headers, **verdict.headers()}), principal


def _permitted(
    service: Service,
    version: ApiVersion,
    endpoint: Endpoint,
    request: web.Request,
    principal: Principal,
    body: bytes,
) -> Answer:
    """Steps 5-10: everything after authentication and the rate limit."""
    refusal = version.refusal(service, endpoint, principal)
    if refusal is not None:
        return refusal
    if request.method == "GET" and body.strip():
        raise no_access()
    query: MultiMapping[str] = request.rel_url.query
    if not endpoint.write:
        refusal = version.read_refusal(service, endpoint, principal, query)
        if refusal is not None:
            return refusal
    acting_user = (
        version.acting_user(service, principal, request.headers) if endpoint.write else None
    )
    replay_key = _replay_key(service, version, endpoint, request, principal)
    if replay_key is not None and replay_key in service.idempotent:
        return service.idempotent[replay_key]
    parsed = _json_body(body) if endpoint.method in ("POST", "PATCH", "PUT") else None
    pager = None
    if endpoint.paging is not None:
        pager = version.pager(service, endpoint, request.path, query)
        query = pager.query
    call = Call(
        organisation=service.organisation,
        version=version.name,
        match_info=dict(request.match_info),
        query=query,
        body=parsed,
        acting_user=acting_user,
        behaviour=service.settings.v3 if version.name == "v3" else None,
    )
    result = endpoint.handler(call)
    if isinstance(result, Listing):
        if pager is None:
            raise TypeError(f"{endpoint.name} returned a list without a pager")
        return pager.answer(result.items)
    if replay_key is not None and result.status < 300:
        service.idempotent[replay_key] = result
    return result


def _replay_key(
    service: Service,
    version: ApiVersion,
    endpoint: Endpoint,
    request: web.Request,
    principal: Principal,
) -> tuple[str, str] | None:
    """E5: with keys honoured, a v3 POST's Idempotency-Key (per client)."""
    key = request.headers.get(IDEMPOTENCY_KEY)
    if (
        version.name != "v3"
        or endpoint.method != "POST"
        or not key
        or not service.settings.v3.idempotency_keys
    ):
        return None
    return principal.credential, key


def _api_handler(
    service: Service, version: ApiVersion, endpoint: Endpoint
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        now = time.monotonic()
        body = await request.read()
        fault = service.faults.draw(service.next_statuses, now, (request.method, request.path))
        principal: Principal | None = None
        if fault is not None and fault != TIMEOUT:
            answer = _fault_answer(fault)
            credential = version.identify(service, request.headers, now)
            if credential is not None and answer.status != 429:
                limiter, window = version.limiter(service)
                standing = limiter.peek(
                    credential, service.settings.rate_limit, window, now, time.time()
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
                token=principal.token if principal is not None else None,
            )
        )
        if fault == TIMEOUT:
            await service.hang(service.faults.hang_seconds)
        return _response(answer)

    return handle


async def _v3_not_found(request: web.Request) -> web.StreamResponse:
    """E15: v3 answers an unknown route with its JSON 404, before authenticating."""
    return web.json_response(dict(NOT_FOUND_BODY), status=404)


def create_app(service: Service) -> web.Application:
    """The Harvest emulator's application, serving `service`."""
    app = web.Application()

    async def token(request: web.Request) -> web.StreamResponse:
        return await token_endpoint(service, request)

    app.router.add_post(TOKEN_PATH, token)
    for version in _VERSIONS:
        for endpoint in version.endpoints:
            app.router.add_route(
                endpoint.method,
                version.prefix + endpoint.path,
                _api_handler(service, version, endpoint),
            )
    app.router.add_route("*", "/v3/{tail:.*}", _v3_not_found)
    return app
