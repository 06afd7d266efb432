"""Signing in and out, password resets, and accepting an invitation."""

from __future__ import annotations

from aiohttp import web

from alooba_common.errors import InvalidArgument, NotFound
from alooba_common.http_server import client_address
from console.accounts import INVITATION, RESET, normalize_email
from console.handlers.home import landing
from console.keys import BACKENDS, METRICS, SERVICES, SETTINGS
from console.pages import form, local_path, render, see_other, signed_in
from console.sessions import SESSION_COOKIE


async def _signed_in_response(request: web.Request, user_token: str, target: str) -> web.Response:
    settings = request.app[SETTINGS]
    response = see_other(target)
    response.set_cookie(
        SESSION_COOKIE,
        user_token,
        path="/",
        max_age=request.app[SERVICES].sessions.max_age_seconds,
        secure=settings.cookie_secure,
        httponly=True,
        samesite="Lax",
    )
    raise response


async def login_page(request: web.Request) -> web.Response:
    if signed_in(request) is not None:
        raise see_other(local_path(request.query.get("next")))
    return render(request, "login.html", {"next": local_path(request.query.get("next"))})


async def login(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    metrics = request.app[METRICS]
    data = await form(request)
    target = local_path(data.get("next"))
    raw_email = data.get("email", "")
    password = data.get("password", "")

    def refused(message: str, status: int) -> web.Response:
        return render(
            request,
            "login.html",
            {"next": target, "email": raw_email, "error": message},
            status=status,
        )

    try:
        email = normalize_email(raw_email)
    except InvalidArgument:
        metrics.logins.labels("refused").inc()
        return refused("The e-mail address or the password is not right.", 401)
    address = client_address(request, request.app[SETTINGS].trusted_proxy_hops)
    wait = await services.throttle.retry_after(email, address)
    if wait is not None:
        metrics.logins.labels("throttled").inc()
        response = refused(
            f"Too many failed attempts. Try again in {wait // 60} minutes, or reset the password.",
            429,
        )
        response.headers["Retry-After"] = str(wait)
        return response
    user = await services.authenticator.authenticate(email, password)
    if user is None:
        await services.throttle.failed(email, address)
        metrics.logins.labels("refused").inc()
        return refused("The e-mail address or the password is not right.", 401)
    await services.throttle.succeeded(email)
    metrics.logins.labels("succeeded").inc()
    token = await services.sessions.start(user)
    return await _signed_in_response(request, token, target)


async def logout(request: web.Request) -> web.Response:
    who = signed_in(request)
    if who is not None:
        await request.app[SERVICES].sessions.end(who.token_hash)
    response = see_other("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


async def reset_request_page(request: web.Request) -> web.Response:
    return render(request, "reset_request.html")


async def reset_request(request: web.Request) -> web.Response:
    data = await form(request)
    await request.app[SERVICES].accounts.request_reset(data.get("email", ""))
    # The same answer whether or not the address has an account.
    return render(request, "reset_request.html", {"sent": True})


async def reset_page(request: web.Request) -> web.Response:
    await request.app[SERVICES].accounts.preview(request.match_info["token"], RESET)
    return render(request, "reset.html")


async def reset(request: web.Request) -> web.Response:
    data = await form(request)
    if data.get("password", "") != data.get("confirm", ""):
        return render(request, "reset.html", {"error": "The two passwords differ."}, status=400)
    try:
        await request.app[SERVICES].accounts.reset_password(
            request.match_info["token"], data.get("password", "")
        )
    except InvalidArgument as error:
        return render(request, "reset.html", {"error": error.message}, status=400)
    raise see_other("/login?notice=password-reset")


async def _organization_name(request: web.Request, organization_id: str) -> str:
    return await request.app[BACKENDS].organization_name(organization_id, on_behalf_of="invitee")


async def invitation_page(request: web.Request) -> web.Response:
    preview = await request.app[SERVICES].accounts.preview(request.match_info["token"], INVITATION)
    if preview.organization_id is None:
        raise NotFound("this link is not valid")
    return render(
        request,
        "invitation.html",
        {
            "preview": preview,
            "invited_to": await _organization_name(request, preview.organization_id),
        },
    )


async def accept_invitation(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    token = request.match_info["token"]
    data = await form(request)
    preview = await services.accounts.preview(token, INVITATION)
    context = {
        "preview": preview,
        "invited_to": await _organization_name(request, preview.organization_id or ""),
        "display_name": data.get("display_name", ""),
    }
    if not preview.existing_user and data.get("password", "") != data.get("confirm", ""):
        return render(
            request,
            "invitation.html",
            {**context, "error": "The two passwords differ."},
            status=400,
        )
    try:
        user = await services.accounts.accept_invitation(
            token, data.get("display_name", ""), data.get("password", "")
        )
    except InvalidArgument as error:
        return render(request, "invitation.html", {**context, "error": error.message}, status=400)
    session_token = await services.sessions.start(user)
    return await _signed_in_response(
        request, session_token, landing(preview.organization_id or "", preview.role or "")
    )
