"""Renaming the organization from Organization Settings (Owners only): the page warns what
the name changes (every Greenhouse webhook's X-Organisation header, listed), refuses a
taken or malformed name next to the form, and the audit log and every page show it."""

from __future__ import annotations

import html

import grpc
from console_web.helpers import joined, new_organization, web_client
from integration.helpers import new_tenant, unique
from integration.lifecycle_helpers import rpc_error
from integration.test_webhook_receipts import deliver, hired
from support.console import Console
from support.inprocess import System
from support.tls import channel as tls_channel

from alooba.assessments.v1 import assessments_pb2 as apb
from alooba.assessments.v1 import assessments_pb2_grpc as agrpc
from alooba_common.acting import ActingUser, acting_metadata
from alooba_common.tls import Identity
from console.handlers.greenhouse import WEBHOOK_EVENTS


async def name_of(system: System, organization_id: str) -> str:
    found = await system.admin.GetOrganization(apb.GetOrganizationRequest(id=organization_id))
    return str(found.organization.name)


async def test_the_settings_page_warns_what_a_rename_changes_and_lists_the_webhooks(
    system: System, console: Console
) -> None:
    org = await new_organization(system)
    async with web_client(console) as client:
        await joined(console, client, org.id, "owner")
        page = await client.get(f"/orgs/{org.id}/settings")
        assert page.status == 200
        assert "Renaming changes the <code>X-Organisation</code> value" in page.text
        for action, when in WEBHOOK_EVENTS:
            assert f"{when} (<code>{action}</code>)" in page.text
        assert f'action="/orgs/{org.id}/settings/name"' in page.text


async def test_an_owner_renames_and_greenhouse_must_send_the_new_name(
    system: System, console: Console
) -> None:
    tenant = await new_tenant(system)
    org = tenant.organization
    new_name = unique("Renamed <Org>")
    async with web_client(console) as client:
        await joined(console, client, org.id, "owner")
        await client.get(f"/orgs/{org.id}/settings")
        page = await client.post(
            f"/orgs/{org.id}/settings/name", {"name": new_name, "understood": "on"}
        )
        assert page.status == 200
        assert page.url.endswith(f"/orgs/{org.id}/settings?notice=renamed")
        assert "Change the X-Organisation header of each webhook" in page.text
        # Shown (escaped) wherever the name is: the X-Organisation field, the Greenhouse page.
        assert f'id="x-organisation" readonly value="{html.escape(new_name)}"' in page.text
        greenhouse = await client.get(f"/orgs/{org.id}/settings/greenhouse")
        assert html.escape(new_name) in greenhouse.text
        assert html.escape(org.name) not in greenhouse.text
        audit = await client.get(f"/orgs/{org.id}/audit")
        assert "organization.renamed" in audit.text
        assert f"previous_name: {html.escape(org.name)}" in audit.text
        assert f"name: {html.escape(new_name)}" in audit.text
    assert await name_of(system, org.id) == new_name
    # What the warning said: a webhook with the old header is refused, the new one accepted.
    old = await deliver(system, org.name, hired(1), tenant.key)
    assert old.status == 401, old.body
    new = await deliver(system, new_name, hired(2), tenant.key)
    assert new.status == 200, new.body


async def test_a_taken_or_malformed_name_is_a_form_error_and_nothing_changes(
    system: System, console: Console
) -> None:
    org = await new_organization(system)
    other = await new_organization(system)
    async with web_client(console) as client:
        await joined(console, client, org.id, "owner")
        await client.get(f"/orgs/{org.id}/settings")
        taken = await client.post(
            f"/orgs/{org.id}/settings/name", {"name": other.name, "understood": "on"}
        )
        assert taken.status == 409
        assert "Another organization already has that name." in taken.text
        assert 'role="alert"' in taken.text
        for bad in (" padded", "x" * 201, "tab\there", ""):
            page = await client.post(
                f"/orgs/{org.id}/settings/name", {"name": bad, "understood": "on"}
            )
            assert page.status == 400, bad
            assert 'id="rename-error"' in page.text, bad
        unconfirmed = await client.post(f"/orgs/{org.id}/settings/name", {"name": "Fine Name"})
        assert unconfirmed.status == 400
        assert "Tick the box" in unconfirmed.text
        audit = await client.get(f"/orgs/{org.id}/audit")
        assert "organization.renamed" not in audit.text
    assert await name_of(system, org.id) == org.name


async def test_only_an_owner_may_rename_and_only_their_own_organization(
    system: System, console: Console
) -> None:
    org = await new_organization(system)
    theirs = await new_organization(system)
    async with web_client(console) as client:
        await joined(console, client, org.id, "admin")
        page = await client.get(f"/orgs/{org.id}/settings")
        assert f'action="/orgs/{org.id}/settings/name"' not in page.text
        refused = await client.post(
            f"/orgs/{org.id}/settings/name", {"name": "Admin Was Here", "understood": "on"}
        )
        assert refused.status == 403
    async with web_client(console) as client:
        await joined(console, client, org.id, "owner")
        await client.get(f"/orgs/{org.id}/settings")
        elsewhere = await client.post(
            f"/orgs/{theirs.id}/settings/name", {"name": "Hijacked", "understood": "on"}
        )
        assert elsewhere.status == 404
    assert await name_of(system, org.id) == org.name
    assert await name_of(system, theirs.id) == theirs.name

    # assessments itself refuses an Admin, and another organization, whatever the console does.
    async with tls_channel(system.addresses["assessments"], Identity.CONSOLE) as channel:
        admin = agrpc.AdminServiceStub(channel)
        for role, target, code in (
            ("admin", org.id, grpc.StatusCode.PERMISSION_DENIED),
            ("owner", theirs.id, grpc.StatusCode.NOT_FOUND),
        ):
            actor = ActingUser(user_id="u1", organization_id=org.id, role=role)
            error = await rpc_error(
                admin.RenameOrganization(
                    apb.RenameOrganizationRequest(organization_id=target, name="Sneaky"),
                    metadata=acting_metadata(actor),
                )
            )
            assert error.code() == code, role
    assert await name_of(system, org.id) == org.name
    assert await name_of(system, theirs.id) == theirs.name
