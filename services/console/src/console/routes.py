"""The console's URL map (CONSOLE.md's page map). Every state change is a POST."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from console.handlers import (
    auth,
    candidates,
    greenhouse,
    harvest,
    home,
    ops,
    reports,
    settings,
    tests,
)

STATIC = Path(__file__).parent / "static"
ORG = "/orgs/{org:[0-9a-f]{32}}"


def setup_routes(app: web.Application) -> None:
    router = app.router
    router.add_get("/healthz", ops.healthz)
    router.add_get("/readyz", ops.readyz)
    router.add_static("/static", STATIC, name="static", append_version=True)

    router.add_get("/", home.home)
    router.add_get("/login", auth.login_page)
    router.add_post("/login", auth.login)
    router.add_post("/logout", auth.logout)
    router.add_get("/password/reset", auth.reset_request_page)
    router.add_post("/password/reset", auth.reset_request)
    router.add_get("/password/reset/{token}", auth.reset_page)
    router.add_post("/password/reset/{token}", auth.reset)
    router.add_get("/invite/{token}", auth.invitation_page)
    router.add_post("/invite/{token}", auth.accept_invitation)

    router.add_get(f"{ORG}/settings", settings.settings_page)
    router.add_post(f"{ORG}/settings/name", settings.rename)
    router.add_post(f"{ORG}/members", settings.invite)
    router.add_post(f"{ORG}/members/{{user_id}}/role", settings.change_role)
    router.add_post(f"{ORG}/members/{{user_id}}/grader", settings.set_grader)
    router.add_get(f"{ORG}/audit", settings.audit_page)

    router.add_get(f"{ORG}/settings/greenhouse", greenhouse.greenhouse_page)
    router.add_post(f"{ORG}/settings/greenhouse/keys", greenhouse.issue_key)
    router.add_post(f"{ORG}/settings/greenhouse/keys/rotate", greenhouse.rotate_key)
    router.add_post(f"{ORG}/settings/greenhouse/keys/{{key_id}}/revoke", greenhouse.revoke_key)

    router.add_get(f"{ORG}/settings/harvest", harvest.harvest_page)
    router.add_post(f"{ORG}/settings/harvest/connect", harvest.connect)
    router.add_post(f"{ORG}/settings/harvest/disconnect", harvest.disconnect)
    router.add_post(f"{ORG}/settings/harvest/replay", harvest.replay)

    router.add_get(f"{ORG}/tests", tests.tests_page)
    router.add_post(f"{ORG}/tests", tests.create_test)
    router.add_get(f"{ORG}/tests/{{test_id}}", tests.test_page)
    router.add_post(f"{ORG}/tests/{{test_id}}", tests.update_test)
    router.add_post(f"{ORG}/tests/{{test_id}}/archive", tests.archive_test)

    router.add_get(f"{ORG}/candidates", candidates.candidates_page)
    router.add_get(f"{ORG}/candidates/{{invitation_id}}", candidates.candidate_page)
    router.add_post(f"{ORG}/candidates/{{invitation_id}}/extend", candidates.extend)
    router.add_post(f"{ORG}/candidates/{{invitation_id}}/cancel", candidates.cancel)
    router.add_post(f"{ORG}/candidates/{{invitation_id}}/resend", candidates.resend)
    router.add_post(f"{ORG}/candidates/{{invitation_id}}/evaluate", candidates.evaluate)

    router.add_get("/reports/{invitation_id}", reports.report_page)
