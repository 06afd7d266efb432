"""Per request: the request id, one log line and metrics; who is signed in; the CSRF
check on every form post; security headers; and errors as pages with the right status
(another organization's things are 404, a role's missing rights 403, bad input 400)."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable

import grpc
import structlog
from aiohttp import web
from aiohttp.typedefs import Middleware

from alooba_common import http_server
from alooba_common.errors import DomainError
from alooba_common.http_server import route_template
from console.keys import METRICS, SERVICES, SETTINGS
from console.metrics import HttpMetrics
from console.pages import ANONYMOUS_CSRF, SIGNED_IN, render, signed_in
from console.sessions import ANONYMOUS_CSRF_COOKIE, CSRF_FIELD, SESSION_COOKIE, same_token

log = structlog.get_logger("console")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_QUIET = ("/healthz", "/readyz", "/static/{filename}")

# Scripts and styles from this site only (the copy buttons); no frames, no plugins, and
# forms post only here.
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def observe(metrics: HttpMetrics) -> Middleware:
    """The request id, one log line and the HTTP metrics (alooba_common.http_server)."""
    return http_server.observe(metrics.http, log, quiet=_QUIET)


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as error:
        error.headers.update(_SECURITY_HEADERS)
        raise
    response.headers.update(_SECURITY_HEADERS)
    if response.content_type == "text/html":
        # Pages hold keys once and personal data often: never kept by a cache.
        response.headers["Cache-Control"] = "no-store"
    return response


@web.middleware
async def who_is_signed_in(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Resumes the session from its cookie; gives anonymous visitors a CSRF cookie for
    the forms they can see (login, password reset, accepting an invitation)."""
    settings = request.app[SETTINGS]
    token = request.cookies.get(SESSION_COOKIE, "")
    who = await request.app[SERVICES].sessions.resume(token) if token else None
    request[SIGNED_IN] = who
    if who is not None:
        structlog.contextvars.bind_contextvars(user_id=who.user.id)
    new_anonymous = ""
    if who is None and not request.cookies.get(ANONYMOUS_CSRF_COOKIE):
        new_anonymous = secrets.token_urlsafe(32)
        request[ANONYMOUS_CSRF] = new_anonymous
    response = await handler(request)
    if token and who is None:
        response.del_cookie(SESSION_COOKIE, path="/")
    if new_anonymous:
        response.set_cookie(
            ANONYMOUS_CSRF_COOKIE,
            new_anonymous,
            path="/",
            secure=settings.cookie_secure,
            httponly=True,
            samesite="Strict",
        )
    return response


@web.middleware
async def csrf(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every POST carries the form's CSRF token: the session's once signed in, the
    anonymous cookie's before. Anything else is refused before the handler runs."""
    if request.method == "POST":
        expected = (
            signed_in(request).csrf_token  # type: ignore[union-attr]
            if signed_in(request) is not None
            else request.cookies.get(ANONYMOUS_CSRF_COOKIE, "")
        )
        presented = (await request.post()).get(CSRF_FIELD, "")
        if not isinstance(presented, str) or not expected or not same_token(presented, expected):
            request.app[METRICS].csrf_refused.inc()
            log.warning("csrf.refused", route=route_template(request))
            return render(
                request,
                "error.html",
                {
                    "title": "This form cannot be accepted",
                    "message": "It was not sent from this site's page, or that page is too "
                    "old. Go back, reload the page and try again.",
                },
                status=403,
            )
    return await handler(request)


_GRPC_STATUS = {
    grpc.StatusCode.NOT_FOUND: (404, "Not found"),
    grpc.StatusCode.PERMISSION_DENIED: (403, "Not allowed"),
    grpc.StatusCode.INVALID_ARGUMENT: (400, "That cannot be done"),
    grpc.StatusCode.FAILED_PRECONDITION: (409, "That cannot be done now"),
    grpc.StatusCode.ALREADY_EXISTS: (409, "That exists already"),
    grpc.StatusCode.UNAUTHENTICATED: (400, "Refused"),
}
_DOMAIN_STATUS = {
    "NOT_FOUND": (404, "Not found"),
    "PERMISSION_DENIED": (403, "Not allowed"),
    "INVALID_ARGUMENT": (400, "That cannot be done"),
    "FAILED_PRECONDITION": (409, "That cannot be done now"),
    "ALREADY_EXISTS": (409, "That exists already"),
}


def _error_page(request: web.Request, status: int, title: str, message: str) -> web.Response:
    return render(request, "error.html", {"title": title, "message": message}, status=status)


@web.middleware
async def error_pages(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        titles = {403: "Not allowed", 404: "Not found", 405: "Not allowed"}
        return _error_page(
            request,
            error.status,
            titles.get(error.status, error.reason or "Error"),
            error.text if error.text and not error.text.startswith(str(error.status)) else "",
        )
    except DomainError as error:
        status, title = _DOMAIN_STATUS.get(error.code.name, (400, "That cannot be done"))
        return _error_page(request, status, title, error.message)
    except grpc.aio.AioRpcError as error:
        if error.code() in _GRPC_STATUS:
            status, title = _GRPC_STATUS[error.code()]
            details = "" if status == 404 else (error.details() or "")
            return _error_page(request, status, title, details)
        log.warning("backend.error", grpc_code=error.code().name)
        return _error_page(
            request,
            503,
            "Please try again",
            "A service behind this page did not answer in time.",
        )
    except Exception:
        log.exception("http.unhandled_error")
        return _error_page(request, 500, "Something went wrong", "The error has been logged.")
