"""Time-driven changes: invitations past their deadline expire; one reminder email goes
out before a deadline, to candidates still in the running.

Time passing is simulated by moving `expires_at` in the database. Each test has its own
assessments database, because a sweep acts on every invitation in it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest
from integration.helpers import Tenant, new_tenant, status_of
from integration.lifecycle_helpers import (
    STATUS_NAMES,
    callbacks,
    cancel,
    emails_for,
    event_kinds,
    eventually,
    extend,
    invitation,
    invitation_in_state,
    invite,
    outbox_messages,
    pass_deadline,
    reject_application,
    settle,
    sweep,
)
from prometheus_client import REGISTRY
from sqlalchemy import RowMapping
from support.databases import DatabaseServer
from support.inprocess import System, running_system

import assessments.server
from alooba_common.db import utcnow
from alooba_common.migrations import upgrade_to_head
from alooba_common.outbox import DELIVERED, RelaySettings
from alooba_dev.smtp_sink import SmtpSink

# Wider than the one-day test's whole life: its reminder is due as soon as it is sent.
REMINDER_BEFORE = dt.timedelta(days=2)
QUICK_RELAY = RelaySettings(
    base_delay_seconds=0.05, max_delay_seconds=0.2, poll_interval_seconds=0.05
)


@pytest.fixture(scope="module")
def module_databases(new_databases: Callable[[], dict[str, str]]) -> dict[str, str]:
    return new_databases()


@pytest.fixture
def databases(module_databases: dict[str, str], database_server: DatabaseServer) -> dict[str, str]:
    """A fresh assessments database for each test, since a sweep acts on every invitation
    in it; the other services' databases are the module's."""
    url = database_server.create_database("assessments")
    upgrade_to_head(assessments.server.MIGRATIONS, url)
    return {**module_databases, "assessments": url}


@dataclass
class Setup:
    system: System
    tenant: Tenant
    sink: SmtpSink


@pytest.fixture
async def setup(databases: dict[str, str]) -> AsyncIterator[Setup]:
    """A system mailing a real SMTP sink, whose own sweeper only runs at start-up (the
    tests sweep when they mean to), and a tenant whose test expires after one day."""
    with SmtpSink() as sink:
        async with running_system(
            databases,
            **callbacks(),
            smtp_url=sink.url,
            relay=QUICK_RELAY,
            sweep_interval_seconds=3600,
            reminder_before_expiry_seconds=0,
        ) as system:
            tenant = await new_tenant(system)
            one_day = await system.create_test(tenant.organization.id, "SQL", expiry_days=1)
            yield Setup(system, Tenant(tenant.organization, tenant.key, one_day), sink)
            await settle(system)


async def reminder_messages(system: System, invitation_id: str) -> list[RowMapping]:
    return [
        row
        for row in await outbox_messages(system, invitation_id)
        if row["payload"].get("purpose") == "reminder"
    ]


def skipped_rejected_reminders() -> float:
    labels = {"purpose": "reminder", "reason": "rejected"}
    return REGISTRY.get_sample_value("assessments_emails_skipped_total", labels) or 0.0


# --- expiry -----------------------------------------------------------------------------


async def test_the_running_sweeper_expires_an_invitation_past_its_deadline(
    databases: dict[str, str],
) -> None:
    # No relay: the sweeper is the only background task writing to the database.
    async with running_system(
        databases,
        **callbacks(),
        sweep_interval_seconds=0.05,
        relay_enabled=False,
    ) as system:
        tenant = await new_tenant(system)
        invitation_id = await invite(system, tenant)
        await pass_deadline(system, invitation_id)

        async def expired() -> bool:
            reply = await status_of(system, tenant.key, invitation_id)
            return bool(reply.body["partner_status"] == "expired")

        await eventually(expired, what="test_status expired")
        assert (await status_of(system, tenant.key, invitation_id)).body == {
            "partner_status": "expired",
            "partner_profile_url": None,
            "partner_score": None,
            "metadata": None,
        }
        assert (await event_kinds(system, tenant, invitation_id))[-1] == "expired"


async def test_sweep_expires_only_open_invitations_past_their_deadline(setup: Setup) -> None:
    system, tenant = setup.system, setup.tenant
    sent = await invitation_in_state(system, tenant, "sent")
    started = await invitation_in_state(system, tenant, "started")
    still_open = await invitation_in_state(system, tenant, "sent")
    awaiting = await invitation_in_state(system, tenant, "awaiting_evaluation")
    complete = await invitation_in_state(system, tenant, "complete")
    cancelled = await invitation_in_state(system, tenant, "cancelled")
    for invitation_id in (sent, started, awaiting, complete, cancelled):
        await pass_deadline(system, invitation_id)

    expired, _ = await sweep(system)

    assert expired == 2
    statuses = {
        invitation_id: STATUS_NAMES[(await invitation(system, tenant, invitation_id)).status]
        for invitation_id in (sent, started, still_open, awaiting, complete, cancelled)
    }
    assert statuses == {
        sent: "expired",
        started: "expired",
        still_open: "sent",
        awaiting: "awaiting_evaluation",
        complete: "complete",
        cancelled: "cancelled",
    }


async def test_an_expired_invitation_records_one_expired_event(setup: Setup) -> None:
    system, tenant = setup.system, setup.tenant
    invitation_id = await invite(system, tenant)
    await pass_deadline(system, invitation_id)
    assert await sweep(system) == (1, 0)
    assert await sweep(system) == (0, 0)
    assert (await event_kinds(system, tenant, invitation_id)).count("expired") == 1


# --- reminders --------------------------------------------------------------------------


async def test_one_reminder_email_is_sent_before_the_deadline(setup: Setup) -> None:
    system, tenant, sink = setup.system, setup.tenant, setup.sink
    invitation_id = await invite(system, tenant)
    await emails_for(sink, invitation_id, count=1)

    assert await sweep(system, reminder_before=REMINDER_BEFORE) == (0, 1)

    first, reminder = await emails_for(sink, invitation_id, count=2)
    assert "closes soon" in reminder["Subject"]
    assert reminder["Message-ID"] == f"<reminder-0-{invitation_id}@alooba.localhost>"
    assert reminder["To"] == first["To"]
    [message] = await reminder_messages(system, invitation_id)
    assert message["payload"]["purpose"] == "reminder"


async def test_a_second_sweep_queues_no_second_reminder(setup: Setup) -> None:
    system, tenant = setup.system, setup.tenant
    invitation_id = await invite(system, tenant)
    assert await sweep(system, reminder_before=REMINDER_BEFORE) == (0, 1)
    assert await sweep(system, reminder_before=REMINDER_BEFORE) == (0, 0)
    assert len(await reminder_messages(system, invitation_id)) == 1


async def test_no_reminder_before_the_reminder_window(setup: Setup) -> None:
    system, tenant = setup.system, setup.tenant
    invitation_id = await invite(system, tenant)  # due in one day
    assert await sweep(system, reminder_before=dt.timedelta(hours=12)) == (0, 0)
    assert await reminder_messages(system, invitation_id) == []


@pytest.mark.parametrize("state", ["cancelled", "complete", "awaiting_evaluation", "expired"])
async def test_no_reminder_for_an_invitation_that_is_no_longer_open(
    setup: Setup, state: str
) -> None:
    system, tenant = setup.system, setup.tenant
    invitation_id = await invitation_in_state(system, tenant, state)
    assert await sweep(system, reminder_before=REMINDER_BEFORE) == (0, 0)
    assert await reminder_messages(system, invitation_id) == []


async def test_a_started_invitation_is_reminded_too(setup: Setup) -> None:
    system, tenant = setup.system, setup.tenant
    invitation_id = await invitation_in_state(system, tenant, "started")
    assert await sweep(system, reminder_before=REMINDER_BEFORE) == (0, 1)
    assert len(await reminder_messages(system, invitation_id)) == 1


async def test_an_extended_deadline_gets_its_own_reminder(setup: Setup) -> None:
    system, tenant = setup.system, setup.tenant
    invitation_id = await invite(system, tenant)
    assert await sweep(system, reminder_before=REMINDER_BEFORE) == (0, 1)
    await extend(system, invitation_id, utcnow() + dt.timedelta(days=1, hours=12))
    assert await sweep(system, reminder_before=REMINDER_BEFORE) == (0, 1)
    assert len(await reminder_messages(system, invitation_id)) == 2


async def test_a_reminder_queued_before_a_cancel_is_not_emailed(
    databases: dict[str, str],
) -> None:
    # No relay at first: the reminder is queued, then the invitation is cancelled, then a
    # relay starts on the same databases.
    async with running_system(databases, **callbacks(), relay_enabled=False) as system:
        tenant = await new_tenant(system)
        one_day = await system.create_test(tenant.organization.id, "SQL", expiry_days=1)
        invitation_id = await invite(system, Tenant(tenant.organization, tenant.key, one_day))
        assert await sweep(system, reminder_before=REMINDER_BEFORE) == (0, 1)
        await cancel(system, invitation_id)
    with SmtpSink() as sink:
        async with running_system(
            databases, **callbacks(), smtp_url=sink.url, relay=QUICK_RELAY
        ) as system:

            async def all_delivered() -> bool:
                messages = await outbox_messages(system, invitation_id)
                return len(messages) == 2 and all(m["status"] == DELIVERED for m in messages)

            await eventually(all_delivered, what="invitation and reminder settled")
            assert [m for m in sink.messages if m["X-Alooba-Invitation"] == invitation_id] == []


async def test_a_rejected_candidate_gets_no_reminder_email(setup: Setup) -> None:
    system, tenant, sink = setup.system, setup.tenant, setup.sink
    invitation_id = await invite(system, tenant)
    await emails_for(sink, invitation_id, count=1)
    await reject_application(system, await invitation(system, tenant, invitation_id))
    skipped_before = skipped_rejected_reminders()

    assert await sweep(system, reminder_before=REMINDER_BEFORE) == (0, 1)

    async def reminder_settled() -> bool:
        [message] = await reminder_messages(system, invitation_id)
        return bool(message["status"] == DELIVERED)

    await eventually(reminder_settled, what="the reminder handled")
    [message] = await reminder_messages(system, invitation_id)
    assert message["attempts"] == 1  # skipped, not failed
    emails = [m for m in sink.messages if m["X-Alooba-Invitation"] == invitation_id]
    assert [m["Message-ID"] for m in emails] == [f"<invitation-0-{invitation_id}@alooba.localhost>"]
    # The metrics are module-level, so the in-process service counts in the default registry.
    assert skipped_rejected_reminders() == skipped_before + 1


async def test_the_running_sweeper_queues_the_reminder_the_settings_ask_for(
    databases: dict[str, str],
) -> None:
    # No relay: the sweeper is the only background task writing to the database (sending
    # the queued reminder is the other tests' business).
    async with running_system(
        databases,
        **callbacks(),
        relay_enabled=False,
        sweep_interval_seconds=0.05,
        reminder_before_expiry_seconds=int(REMINDER_BEFORE.total_seconds()),
    ) as system:
        tenant = await new_tenant(system)
        one_day = await system.create_test(tenant.organization.id, "SQL", expiry_days=1)
        invitation_id = await invite(system, Tenant(tenant.organization, tenant.key, one_day))

        async def queued() -> list[RowMapping]:
            return await reminder_messages(system, invitation_id)

        [reminder] = await eventually(queued, what="a reminder queued by the sweeper")
        assert reminder["kind"] == "invitation.email"
