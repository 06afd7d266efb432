"""The console in a real Chromium, against the real services in-process, the gateway and
the Harvest emulator. Most tests run with JavaScript off: every core action is a plain
form. Each page is saved as a PNG (browser.SCREENSHOTS) and checked for input labels."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import structlog
from console_web.browser import Browser, chromium
from console_web.helpers import PASSWORD, new_organization, unique_email
from integration.harvest_helpers import (
    HarvestWorld,
    all_but,
    connected_tenant,
    fields_written,
    grant,
    harvest_world,
    queue_scores,
)
from integration.helpers import (
    PARTNER,
    Tenant,
    call,
    list_tests,
    new_tenant,
    send_test,
    status_of,
)
from integration.lifecycle_helpers import (
    callback_receiver,
    eventually,
    pass_deadline,
    start,
    submit,
    sweep,
)
from selenium.webdriver.remote.webdriver import WebDriver
from support.console import Console, free_port, running_console
from support.greenhouse import send_test_body

from alooba.assessments.v1 import assessments_pb2 as apb
from alooba.harvest_sync.v1 import harvest_sync_pb2 as hpb
from alooba.outbox.v1 import outbox_pb2 as opb
from console.handlers.candidates import MILESTONES
from greenhouse_emulator import webhooks
from greenhouse_emulator.harvest import ALL_PERMISSIONS, ALL_SCOPES, CREATE_CUSTOM_FIELD
from greenhouse_emulator.signing import encode_webhook_body, sign

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def plain_driver() -> Iterator[WebDriver]:
    """Chromium with JavaScript turned off."""
    with chromium(javascript=False) as driver:
        yield driver


@pytest.fixture(scope="module")
def js_driver() -> Iterator[WebDriver]:
    with chromium(javascript=True) as driver:
        yield driver


@pytest.fixture
async def browser(plain_driver: WebDriver) -> Browser:
    return await Browser.signed_out(plain_driver)


@dataclass
class Setup:
    world: HarvestWorld
    console: Console

    @property
    def system(self) -> Any:
        return self.world.system


@pytest.fixture
async def setup(shared_databases: dict[str, str]) -> AsyncIterator[Setup]:
    port = free_port()
    with structlog.testing.capture_logs():
        async with (
            # Greenhouse's "View Report" link is the console's report page.
            harvest_world(
                shared_databases, report_base_url=f"http://127.0.0.1:{port}/reports"
            ) as world,
            running_console(
                world.system, shared_databases["console"], port=port, cookie_secure=True
            ) as console,
        ):
            yield Setup(world, console)


async def accept_invitation(
    browser: Browser, console: Console, organization_id: str, role: str, shot: str
) -> str:
    """`alooba-gh user invite`, then the person opens the link and sets a password."""
    email = unique_email(role)
    link = await console.invite(organization_id, email, role)
    await browser.open(link, f"{shot}-invitation")
    await browser.fill(
        {"display_name": f"Ada the {role}", "password": PASSWORD, "confirm": PASSWORD}
    )
    await browser.click("Join", shot)
    return email


async def invitation_for(setup: Setup, tenant: Tenant, **candidate: Any) -> str:
    body = send_test_body(tenant.test.id, **candidate)
    body["url"] = callback_receiver().url()
    reply = await send_test(setup.system, tenant.key, body)
    assert reply.status == 200, reply.body
    return str(reply.body["partner_interview_id"])


async def partner_status(setup: Setup, tenant: Tenant, interview_id: str) -> str:
    reply = await status_of(setup.system, tenant.key, interview_id)
    assert reply.status == 200, reply.body
    return str(reply.body["partner_status"])


# --- the tests ----------------------------------------------------------------------


async def test_an_owner_generates_a_key_that_works_against_the_gateway(
    setup: Setup, browser: Browser
) -> None:
    org = await new_organization(setup.system, f"Acme {uuid.uuid4().hex[:6]}")
    base = setup.console.url
    text = await accept_invitation(browser, setup.console, org.id, "owner", "settings")
    assert browser.url.endswith(f"/orgs/{org.id}/settings")
    text = await browser.open(f"{base}/orgs/{org.id}/settings", "settings")
    assert "Organization Settings" in text
    assert await browser.value("x-organisation") == org.name

    text = await browser.open(f"{base}/orgs/{org.id}/settings/greenhouse", "greenhouse-no-key")
    assert "No key yet." in text
    text = await browser.click("Generate the API key", "greenhouse-key-generated")
    assert "it will not be shown again" in text
    secret = await browser.value("new-key")
    assert secret.startswith("agh_")

    # Greenhouse's list_tests with the key, through the gateway.
    reply = await list_tests(setup.system, secret)
    assert reply.status == 200
    assert reply.body == []
    # Shown once: the page does not show it again.
    text = await browser.open(f"{base}/orgs/{org.id}/settings/greenhouse", "greenhouse")
    assert secret not in browser.driver.page_source
    assert "FAIL" in text.upper()  # the setup check: no test, no webhooks yet

    text = await browser.open(f"{base}/orgs/{org.id}/tests", "tests-empty")
    await browser.fill({"name": "Data Analyst", "skills": "SQL\nPython", "expiry": "7"})
    text = await browser.click("Add the test", "tests")
    assert "Data Analyst" in text
    assert "SQL, Python" in text

    text = await browser.open(f"{base}/orgs/{org.id}/audit", "audit")
    assert "key.issued" in text
    assert "test.created" in text
    assert "user.joined" in text


async def test_a_member_gets_403_on_the_key_page_and_can_open_reports(
    setup: Setup, browser: Browser
) -> None:
    tenant = await new_tenant(setup.system)
    interview = await invitation_for(setup, tenant)
    await start(setup.system, interview)
    await submit(setup.system, interview, score=84, skills={"SQL": 88})
    email = await accept_invitation(
        browser, setup.console, tenant.organization.id, "member", "member-candidates"
    )
    base, org = setup.console.url, tenant.organization.id
    text = await browser.open(f"{base}/orgs/{org}/settings/greenhouse", "member-403")
    assert "Not allowed" in text
    assert "API key" not in text
    text = await browser.open(f"{base}/orgs/{org}/candidates", "candidates")
    assert "complete" in text
    text = await browser.open(f"{base}/reports/{interview}", "member-report")
    assert "84" in text
    assert email  # signed in as the member throughout


async def test_a_form_posted_without_its_csrf_token_is_refused(
    setup: Setup, js_driver: WebDriver
) -> None:
    browser = await Browser.signed_out(js_driver)
    org = await new_organization(setup.system)
    await accept_invitation(browser, setup.console, org.id, "owner", "csrf-settings")
    await browser.open(f"{setup.console.url}/orgs/{org.id}/settings/greenhouse", "csrf-before")
    await browser.run_script(
        "document.querySelectorAll('input[name=csrf_token]').forEach(e => e.remove())"
    )
    text = await browser.click("Generate the API key", "csrf-refused")
    assert "This form cannot be accepted" in text
    keys = await setup.system.admin.ListApiKeys(apb.ListApiKeysRequest(organization_id=org.id))
    assert list(keys.api_keys) == []


async def test_connecting_harvest_shows_a_missing_permission_then_site_admin_then_all_green(
    setup: Setup, browser: Browser
) -> None:
    org = await new_organization(setup.system)
    base = setup.console.url
    await accept_invitation(browser, setup.console, org.id, "admin", "harvest-settings")
    greenhouse = setup.world.greenhouse
    key = greenhouse.issue_v1_key([p for p in ALL_PERMISSIONS if p != CREATE_CUSTOM_FIELD])

    await browser.open(f"{base}/orgs/{org.id}/settings/harvest", "harvest-not-connected")
    await browser.choose("mode-v1")
    await browser.fill({"api-key": key})
    text = await browser.click("Connect Harvest", "harvest-missing-permission")
    assert CREATE_CUSTOM_FIELD in text
    assert key not in browser.driver.page_source  # never shown back

    greenhouse.grant_v1_permissions(key, [CREATE_CUSTOM_FIELD])
    harvest_page = f"{base}/orgs/{org.id}/settings/harvest?refresh=1"
    text = await browser.open(harvest_page, "harvest-site-admin")
    assert "Every permission needed is granted." in text
    assert "not a Site Admin yet" in text
    assert "Configure → Users" in text

    status = (
        await setup.system.harvest.GetStatus(hpb.GetStatusRequest(organization_id=org.id))
    ).status
    greenhouse.set_site_admin(status.integration_user.id)
    text = await browser.open(harvest_page, "harvest")
    assert "a Site Admin." in text
    assert "Still to do" not in text
    text = await browser.open(
        f"{base}/orgs/{org.id}/settings/greenhouse?refresh=1", "greenhouse-harvest-ok"
    )
    assert "harvest permissions: every needed permission granted" in text.lower()


async def test_extend_cancel_and_resend_change_what_test_status_answers(
    setup: Setup, browser: Browser
) -> None:
    tenant = await new_tenant(setup.system)
    base, org = setup.console.url, tenant.organization.id
    late = await invitation_for(setup, tenant)
    await pass_deadline(setup.system, late)
    await sweep(setup.system)
    assert await partner_status(setup, tenant, late) == "expired"
    await accept_invitation(browser, setup.console, org, "admin", "actions-settings")

    await browser.open(f"{base}/orgs/{org}/candidates/{late}", "candidate-expired")
    text = await browser.click("Extend", "candidate-extended")
    assert "The deadline was moved." in text
    assert await partner_status(setup, tenant, late) == "sent"

    text = await browser.click("Resend the invitation email", "candidate-resent")
    assert "on its way again" in text
    assert "resent" in text
    assert await partner_status(setup, tenant, late) == "sent"

    text = await browser.click("Cancel the invitation", "candidate-cancelled")
    assert "The invitation was cancelled." in text
    assert await partner_status(setup, tenant, late) == "cancelled"

    text = await browser.open(
        f"{base}/orgs/{org}/candidates?status=cancelled", "candidates-cancelled"
    )
    assert "cancelled" in text


async def test_the_partner_profile_url_opens_on_the_score_and_without_pii_after_anonymization(
    setup: Setup, browser: Browser
) -> None:
    tenant = await new_tenant(setup.system)
    owner_email = unique_email("owner")
    link = await setup.console.invite(tenant.organization.id, owner_email, "owner")
    interview = await invitation_for(setup, tenant, candidate_id=4242, first_name="Hermione")
    await start(setup.system, interview)
    await submit(setup.system, interview, score=93, skills={"SQL": 95, "Python": 90})
    reply = await status_of(setup.system, tenant.key, interview)
    assert reply.body["partner_status"] == "complete"
    report_url = str(reply.body["partner_profile_url"])
    assert report_url == f"{setup.console.url}/reports/{interview}"

    # Accept in another tab's worth of state, then sign out: the link is opened cold.
    await browser.open(link, "owner-invitation")
    await browser.fill({"display_name": "Olive Owner", "password": PASSWORD, "confirm": PASSWORD})
    await browser.click("Join", "owner-joined")
    await browser.click("Sign out", "signed-out")

    text = await browser.open(report_url, "report-sign-in")
    assert "Sign in" in text
    await browser.fill({"email": owner_email, "password": PASSWORD})
    text = await browser.click("Sign in", "report")
    assert browser.url == report_url
    assert "93" in text
    assert "SQL" in text
    assert "Python" in text
    assert "The Chosen One Potter" in text  # Greenhouse's preferred name and last name

    anonymize = webhooks.candidate_anonymized(4242, ["full_name", "email_addresses"])
    body = encode_webhook_body(anonymize)
    reply = await call(
        setup.system,
        "POST",
        f"{PARTNER}/webhook",
        headers={
            "X-Organisation": tenant.organization.name,
            "Signature": sign(body, tenant.key),
            "Greenhouse-Event-ID": uuid.uuid4().hex,
            "Content-Type": "application/json",
        },
        data=body,
    )
    assert reply.status == 200, reply.body
    text = await browser.open(report_url, "report-anonymized")
    assert "anonymized" in text
    assert "Potter" not in browser.driver.page_source
    assert "Chosen" not in browser.driver.page_source
    assert "93" in text


async def test_names_with_script_are_shown_as_text(setup: Setup, browser: Browser) -> None:
    tenant = await new_tenant(setup.system, test_name="<script>alert('t')</script>")
    body = send_test_body(tenant.test.id, last_name="<img src=x onerror=alert(2)>")
    body["candidate"]["preferred_name"] = "<script>alert(1)</script>"
    body["url"] = callback_receiver().url()
    reply = await send_test(setup.system, tenant.key, body)
    interview = str(reply.body["partner_interview_id"])
    await accept_invitation(browser, setup.console, tenant.organization.id, "admin", "xss-settings")
    text = await browser.open(
        f"{setup.console.url}/orgs/{tenant.organization.id}/candidates/{interview}", "escaped-names"
    )
    assert "<script>alert(1)</script> <img src=x onerror=alert(2)>" in text
    assert "<script>alert('t')</script>" in text
    assert browser.driver.find_elements("tag name", "img") == []


async def test_an_owner_renames_the_organization_after_the_warning(
    setup: Setup, browser: Browser
) -> None:
    org = await new_organization(setup.system, f"Acme {uuid.uuid4().hex[:6]}")
    taken = await new_organization(setup.system, f"Taken {uuid.uuid4().hex[:6]}")
    base = setup.console.url
    await accept_invitation(browser, setup.console, org.id, "owner", "rename-joined")
    text = await browser.open(f"{base}/orgs/{org.id}/settings", "settings-rename")
    assert "Renaming changes the X-Organisation value" in text
    assert "Candidate anonymized (candidate_anonymized)" in text

    await browser.fill({"organization-name": taken.name})
    await browser.choose("rename-understood")
    text = await browser.click("Rename", "settings-rename-taken")
    assert "Another organization already has that name." in text

    new_name = f"Acme Renamed {uuid.uuid4().hex[:6]}"
    await browser.fill({"organization-name": new_name})
    await browser.choose("rename-understood")
    text = await browser.click("Rename", "settings-renamed")
    assert "Change the X-Organisation header of each webhook" in text
    assert await browser.value("x-organisation") == new_name
    text = await browser.open(f"{base}/orgs/{org.id}/audit", "audit-renamed")
    assert "organization.renamed" in text
    assert new_name in text


async def test_the_harvest_queue_lists_dead_letters_and_an_admin_replays_them(
    setup: Setup, browser: Browser
) -> None:
    world = setup.world
    tenant = await connected_tenant(world)
    org = tenant.organization.id
    waiting_for_nobody = world.greenhouse.add_application()
    gone = world.greenhouse.add_application()
    world.greenhouse.delete_application(gone)
    assert await queue_scores(world, org, waiting_for_nobody, "written-result", 64)
    assert await queue_scores(world, org, gone, "deleted-result", 58)
    await fields_written(world.greenhouse, waiting_for_nobody, {"Alooba Score": 64})

    async def dead() -> list[Any]:
        listed = await setup.system.harvest_outbox.ListDeadLetters(opb.ListDeadLettersRequest())
        return [d for d in listed.dead_letters if d.payload["organization_id"] == org]

    [letter] = await eventually(dead, within=20, what="the dead letter")
    await accept_invitation(browser, setup.console, org, "admin", "harvest-queue-joined")
    text = await browser.open(f"{setup.console.url}/orgs/{org}/settings/harvest", "harvest-queue")
    assert "Dead letters" in text
    assert "deleted-result" in text
    assert "has been deleted" in text
    await browser.choose(f"replay-{letter.id}")
    text = await browser.click("Replay the selected", "harvest-replayed")
    assert "1 dead letter is queued again" in text
    assert "deleted-result" in text  # tried again, and (still deleted) listed again soon


async def test_an_owner_makes_a_member_a_grader_who_records_the_evaluation(
    setup: Setup, browser: Browser, js_driver: WebDriver
) -> None:
    tenant = await new_tenant(setup.system)
    base, org = setup.console.url, tenant.organization.id
    interview = await invitation_for(setup, tenant)
    await start(setup.system, interview)
    await submit(setup.system, interview, score=60, skills={"SQL": 55}, manual=True)
    member_email = await accept_invitation(browser, setup.console, org, "member", "grader-joined")
    text = await browser.open(f"{base}/orgs/{org}/candidates/{interview}", "candidate-not-grader")
    assert "Record the evaluation" not in text

    owner = await Browser.signed_out(js_driver)
    await accept_invitation(owner, setup.console, org, "owner", "grader-owner")
    text = await owner.open(f"{base}/orgs/{org}/settings", "settings-members")
    assert member_email in text
    text = await owner.click("Make a grader", "settings-grader")
    assert "Who may record evaluations was changed." in text
    assert "Stop grading" in text

    text = await browser.open(f"{base}/orgs/{org}/candidates/{interview}", "candidate-grader")
    assert "Record the evaluation" in text
    await browser.fill({"score": "74", "skill-1": "70"})
    text = await browser.click("Record the evaluation", "candidate-graded")
    assert "The evaluation was recorded" in text
    assert await partner_status(setup, tenant, interview) == "complete"

    # The timeline, once Greenhouse has been called back and the scores handed on.
    async def delivered() -> bool:
        found = await setup.system.admin.GetInvitation(
            apb.GetInvitationRequest(organization_id=org, invitation_id=interview)
        )
        kinds = {d.kind for d in found.invitation.deliveries}
        return {"email_delivered", "greenhouse_called_back", "handed_to_harvest_sync"} <= kinds

    await eventually(delivered, what="the callback and the Harvest hand-off")
    text = await browser.open(f"{base}/orgs/{org}/candidates/{interview}", "candidate-timeline")
    for milestone in ("email_delivered", "started", "evaluated", "greenhouse_called_back"):
        assert MILESTONES[milestone] in text


async def test_connecting_harvest_v3_shows_a_missing_scope_then_site_admin_then_all_green(
    setup: Setup, browser: Browser
) -> None:
    """The same path as with a v1 key, with a v3 OAuth client: the emulator lets an admin
    add a scope to the same client (Manage Scopes); the next check mints tokens that have it."""
    org = await new_organization(setup.system)
    base = setup.console.url
    await accept_invitation(browser, setup.console, org.id, "admin", "harvest-v3-settings")
    greenhouse = setup.world.greenhouse
    client_id, secret = greenhouse.issue_v3_client(all_but("v3", "create field"))
    missing = grant("v3", "create field")

    await browser.open(f"{base}/orgs/{org.id}/settings/harvest", "harvest-v3-not-connected")
    await browser.choose("mode-v3")
    await browser.fill(
        {"client-id": client_id, "client-secret": secret, "acting-user": str(setup.world.admin_id)}
    )
    text = await browser.click("Connect Harvest", "harvest-v3-missing-scope")
    assert "Harvest v3" in text
    assert missing in text
    assert secret not in browser.driver.page_source  # never shown back

    greenhouse.set_v3_scopes(client_id, ALL_SCOPES)
    harvest_page = f"{base}/orgs/{org.id}/settings/harvest?refresh=1"
    text = await browser.open(harvest_page, "harvest-v3-site-admin")
    assert "Every scope needed is granted." in text
    assert "not a Site Admin yet" in text

    status = (
        await setup.system.harvest.GetStatus(hpb.GetStatusRequest(organization_id=org.id))
    ).status
    greenhouse.set_site_admin(status.integration_user.id)
    text = await browser.open(harvest_page, "harvest-v3")
    assert "a Site Admin." in text
    assert "Still to do" not in text


async def test_an_admin_edits_then_archives_a_test(setup: Setup, browser: Browser) -> None:
    tenant = await new_tenant(setup.system, test_name="Data Analyst")
    base, org, test_id = setup.console.url, tenant.organization.id, tenant.test.id
    await accept_invitation(browser, setup.console, org, "admin", "tests-admin")
    await browser.open(f"{base}/orgs/{org}/tests", "tests-before-edit")
    text = await browser.open(f"{base}/orgs/{org}/tests/{test_id}", "test-edit")
    assert "Edit Data Analyst" in text
    await browser.fill({"name": "Senior Data Analyst", "skills": "SQL\nStatistics", "expiry": "10"})
    await browser.choose("manual")
    text = await browser.click("Save", "tests-edited")
    assert "The test was changed." in text
    assert "Senior Data Analyst" in text
    assert "SQL, Statistics" in text
    assert (await list_tests(setup.system, tenant.key)).body == [
        {"partner_test_id": test_id, "partner_test_name": "Senior Data Analyst"}
    ]

    await browser.open(f"{base}/orgs/{org}/tests/{test_id}", "test-edit-again")
    text = await browser.click("Archive Senior Data Analyst", "tests-archived")
    assert "Greenhouse no longer lists it" in text
    assert (await list_tests(setup.system, tenant.key)).body == []
    text = await browser.open(f"{base}/orgs/{org}/tests?archived=1", "tests-with-archived")
    assert "Senior Data Analyst" in text
    assert "archived" in text
