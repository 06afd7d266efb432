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
from integration.harvest_helpers import HarvestWorld, harvest_world
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
from greenhouse_emulator import webhooks
from greenhouse_emulator.harvest import ALL_PERMISSIONS, CREATE_CUSTOM_FIELD
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
def browser(plain_driver: WebDriver) -> Browser:
    plain_driver.delete_all_cookies()
    return Browser(plain_driver)


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
    js_driver.delete_all_cookies()
    browser = Browser(js_driver)
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
