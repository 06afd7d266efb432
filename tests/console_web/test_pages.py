"""The console over real HTTP (no browser): signing in, roles, tenancy, CSRF, escaping,
throttling and password resets, against the real services in-process."""

from __future__ import annotations

import html
import re

import grpc
import structlog
from console_web.helpers import (
    PASSWORD,
    emailed_link,
    joined,
    new_organization,
    unique_email,
    web_client,
)
from integration.harvest_helpers import harvest_world
from integration.helpers import Tenant, new_tenant, send_test, status_of
from integration.lifecycle_helpers import callback_receiver, eventually, rpc_error, submit
from support.console import Console, running_console
from support.greenhouse import send_test_body
from support.inprocess import System

from alooba.assessments.v1 import assessments_pb2 as apb
from alooba.console.v1 import console_pb2 as cpb


async def invitation_named(
    system: System, tenant: Tenant, *, preferred: str = "Harry", last: str = "Potter"
) -> str:
    body = send_test_body(tenant.test.id, last_name=last)
    body["candidate"]["preferred_name"] = preferred
    body["url"] = callback_receiver().url()
    reply = await send_test(system, tenant.key, body)
    assert reply.status == 200, reply.body
    return str(reply.body["partner_interview_id"])


async def test_an_invited_owner_signs_in_and_lands_on_organization_settings(
    system: System, console: Console
) -> None:
    org = await new_organization(system)
    async with web_client(console) as client:
        await joined(console, client, org.id, "owner")
        page = await client.get("/")
        assert page.status == 200
        assert page.url.endswith(f"/orgs/{org.id}/settings")
        assert html.escape(org.name) in page.text


async def test_signing_out_ends_the_session(system: System, console: Console) -> None:
    org = await new_organization(system)
    async with web_client(console) as client:
        await joined(console, client, org.id, "owner")
        await client.get(f"/orgs/{org.id}/settings")
        await client.post("/logout", {})
        page = await client.get(f"/orgs/{org.id}/settings")
        assert page.url.endswith(f"/login?next=/orgs/{org.id}/settings")


async def test_a_wrong_password_is_refused_and_then_throttled(
    system: System, console: Console
) -> None:
    org = await new_organization(system)
    async with web_client(console) as client:
        email = await joined(console, client, org.id, "member")
        await client.post("/logout", {})
    async with web_client(console) as client:
        for _ in range(console.settings.login_limit_per_email):
            await client.get("/login")
            page = await client.post("/login", {"email": email, "password": "not it at all"})
            assert page.status == 401
        await client.get("/login")
        page = await client.post("/login", {"email": email, "password": PASSWORD})
        assert page.status == 429
        assert "Too many failed attempts" in page.text


async def test_a_form_posted_without_its_csrf_token_is_refused(
    system: System, console: Console
) -> None:
    org = await new_organization(system)
    async with web_client(console) as client:
        await joined(console, client, org.id, "owner")
        await client.get(f"/orgs/{org.id}/settings/greenhouse")
        page = await client.post(f"/orgs/{org.id}/settings/greenhouse/keys", {}, csrf="")
        assert page.status == 403
        page = await client.post(
            f"/orgs/{org.id}/settings/greenhouse/keys", {}, csrf="forged-token"
        )
        assert page.status == 403
    keys = await system.admin.ListApiKeys(apb.ListApiKeysRequest(organization_id=org.id))
    assert list(keys.api_keys) == []


async def test_a_member_gets_403_on_settings_and_can_read_candidates(
    system: System, console: Console
) -> None:
    tenant = await new_tenant(system)
    async with web_client(console) as client:
        await joined(console, client, tenant.organization.id, "member")
        for area in ("settings", "settings/greenhouse", "settings/harvest", "audit"):
            page = await client.get(f"/orgs/{tenant.organization.id}/{area}")
            assert page.status == 403, area
        assert (await client.get(f"/orgs/{tenant.organization.id}/candidates")).status == 200
        assert (await client.get(f"/orgs/{tenant.organization.id}/tests")).status == 200


async def test_another_organizations_pages_and_reports_are_404(
    system: System, console: Console
) -> None:
    mine = await new_tenant(system)
    theirs = await new_tenant(system)
    their_invitation = await invitation_named(system, theirs)
    async with web_client(console) as client:
        await joined(console, client, mine.organization.id, "owner")
        other = theirs.organization.id
        for path in (
            f"/orgs/{other}/settings",
            f"/orgs/{other}/settings/greenhouse",
            f"/orgs/{other}/candidates",
            f"/orgs/{other}/candidates/{their_invitation}",
            f"/orgs/{other}/tests",
            f"/reports/{their_invitation}",
            # Their invitation through my organization's pages.
            f"/orgs/{mine.organization.id}/candidates/{their_invitation}",
        ):
            page = await client.get(path)
            assert page.status == 404, path
        page = await client.post(f"/orgs/{other}/settings/greenhouse/keys", {})
        assert page.status == 404


async def test_names_with_script_are_shown_escaped(system: System, console: Console) -> None:
    tenant = await new_tenant(system, test_name="<script>alert('test')</script>")
    invitation_id = await invitation_named(
        system, tenant, preferred="<script>alert(1)</script>", last="<b>Bold</b>"
    )
    async with web_client(console) as client:
        await joined(console, client, tenant.organization.id, "admin")
        for path in (
            f"/orgs/{tenant.organization.id}/candidates/{invitation_id}",
            f"/orgs/{tenant.organization.id}/candidates",
            f"/orgs/{tenant.organization.id}/tests",
        ):
            page = await client.get(path)
            assert page.status == 200
            assert "<script>alert" not in page.text, path
            assert "&lt;script&gt;alert(" in page.text, path
        page = await client.get(f"/orgs/{tenant.organization.id}/candidates/{invitation_id}")
        assert "&lt;b&gt;Bold&lt;/b&gt;" in page.text
        # The one script element is the page's own copy button script.
        assert page.text.count("<script") == 1


async def test_a_password_reset_link_sets_a_new_password(system: System, console: Console) -> None:
    org = await new_organization(system)
    async with web_client(console) as client:
        email = await joined(console, client, org.id, "member")
    async with web_client(console) as client:
        await client.get("/password/reset")
        page = await client.post("/password/reset", {"email": email})
        assert "If that address has an account" in page.text
        link = await eventually(
            lambda: _reset_link(console, email), within=10, what="the reset email"
        )
        path = link.removeprefix(console.url)
        await client.get(path)
        new_password = "a brand new passphrase"
        page = await client.post(path, {"password": new_password, "confirm": new_password})
        assert page.url.endswith("/login?notice=password-reset")
        # The link works once.
        assert (await client.get(path)).status == 404
        await client.get("/login")
        page = await client.post("/login", {"email": email, "password": new_password})
        assert page.status == 200
        assert page.url.endswith(f"/orgs/{org.id}/candidates")


async def _reset_link(console: Console, email: str) -> str | None:
    try:
        link = emailed_link(console.mail_dir, email)
    except AssertionError:
        return None
    return link if "/password/reset/" in link else None


async def test_a_reset_for_an_unknown_address_says_the_same_and_sends_nothing(
    system: System, console: Console
) -> None:
    email = unique_email("nobody")
    async with web_client(console) as client:
        await client.get("/password/reset")
        page = await client.post("/password/reset", {"email": email})
        assert "If that address has an account" in page.text
    assert await _reset_link(console, email) is None


async def test_a_submitted_result_opens_as_a_report_with_scores(
    system: System, console: Console
) -> None:
    tenant = await new_tenant(system)
    invitation_id = await invitation_named(system, tenant)
    await submit(system, invitation_id, score=77, skills={"SQL": 91})
    async with web_client(console) as client:
        page = await client.get(f"/reports/{invitation_id}")
        assert "/login?next=/reports/" in page.url
        await joined(console, client, tenant.organization.id, "member")
        page = await client.get(f"/reports/{invitation_id}")
        assert page.status == 200
        assert '<dd class="score">77</dd>' in page.text
        assert "<td>SQL</td><td>91</td>" in page.text
        assert "Harry Potter" in page.text


async def test_a_member_cannot_post_to_the_key_forms(system: System, console: Console) -> None:
    tenant = await new_tenant(system)
    async with web_client(console) as client:
        await joined(console, client, tenant.organization.id, "member")
        await client.get(f"/orgs/{tenant.organization.id}/candidates")
        page = await client.post(
            f"/orgs/{tenant.organization.id}/settings/greenhouse/keys/rotate", {"grace_days": "7"}
        )
        assert page.status == 403
    keys = await system.admin.ListApiKeys(
        apb.ListApiKeysRequest(organization_id=tenant.organization.id)
    )
    assert len(keys.api_keys) == 1  # only the tenant's own, unrotated
    assert keys.api_keys[0].state == apb.API_KEY_STATE_ACTIVE


async def test_an_admin_records_a_manual_evaluation_and_the_result_completes(
    system: System, console: Console
) -> None:
    tenant = await new_tenant(system)
    invitation_id = await invitation_named(system, tenant)
    await submit(system, invitation_id, score=60, skills={"SQL": 55}, manual=True)
    async with web_client(console) as client:
        await joined(console, client, tenant.organization.id, "admin")
        path = f"/orgs/{tenant.organization.id}/candidates/{invitation_id}"
        page = await client.get(path)
        assert "Record the evaluation" in page.text
        form_key = re.search(r'name="form_key" value="([0-9a-f]+e)"', page.text)
        assert form_key is not None
        fields = {"form_key": form_key.group(1), "score": "72", "skill:SQL": "70"}
        page = await client.post(f"{path}/evaluate", fields)
        assert page.status == 200
        assert "The evaluation was recorded" in page.text
        # The same form posted again acts once (its idempotency key).
        await client.get(path)
        page = await client.post(f"{path}/evaluate", fields)
        assert page.status == 200
    reply = await status_of(system, tenant.key, invitation_id)
    assert reply.body["partner_status"] == "complete"
    assert reply.body["partner_score"] == 72
    assert reply.body["metadata"]["SQL Score"] == 70
    assert reply.body["metadata"]["Evaluated By"] == "The admin"


async def test_operators_invite_only_into_an_existing_organization_and_only_once(
    system: System, console: Console
) -> None:
    org = await new_organization(system)
    email = unique_email("owner")
    await console.invite(org.id, email, "owner")
    unknown = await rpc_error(console.invite("f" * 32, unique_email(), "owner"))
    assert unknown.code() == grpc.StatusCode.NOT_FOUND
    async with web_client(console) as client:
        link = await console.invite(org.id, unique_email("admin"), "admin")
        await client.get(link.removeprefix(console.url))
        await client.post(
            link.removeprefix(console.url),
            {"display_name": "A", "password": PASSWORD, "confirm": PASSWORD},
        )
        members = await console.users.ListMembers(cpb.ListMembersRequest(organization_id=org.id))
        [member] = members.members
        again = await rpc_error(console.invite(org.id, member.email, "owner"))
        assert again.code() == grpc.StatusCode.ALREADY_EXISTS


async def test_harvest_v3_connects_and_disconnects_and_the_audit_log_says_who(
    shared_databases: dict[str, str],
) -> None:
    with structlog.testing.capture_logs():
        async with (
            harvest_world(shared_databases) as world,
            running_console(world.system, shared_databases["console"]) as console,
            web_client(console) as client,
        ):
            org = await new_organization(world.system)
            email = await joined(console, client, org.id, "owner")
            client_id, secret = world.greenhouse.issue_v3_client()
            harvest = f"/orgs/{org.id}/settings/harvest"
            await client.get(harvest)
            page = await client.post(
                f"{harvest}/connect",
                {"mode": "v3", "client_id": client_id, "client_secret": secret},
            )
            assert page.status == 200
            assert "Harvest v3" in page.text
            assert secret not in page.text
            await client.post(f"{harvest}/disconnect", {})
            page = await client.get(harvest)
            assert "not connected" in page.text
            page = await client.get(f"/orgs/{org.id}/audit")
            for action in ("harvest.connected", "harvest.disconnected"):
                assert action in page.text
            assert page.text.count(email) >= 2
