"""`alooba-gh doctor`: one organization's Greenhouse setup checked end to end — partner
key, test catalog, webhooks, callbacks, dead letters, Harvest — printed as a checklist
with what to do about each item that is not ok. Exit status 1 when an item failed."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from alooba.assessments.v1 import assessments_pb2 as pb
from alooba.harvest_sync.v1 import harvest_sync_pb2 as hpb
from alooba_cli.commands import Subcommands, add_action, positive_int
from alooba_cli.commands.harvest import add_harvest_option, harvest_stub
from alooba_cli.context import (
    CommandError,
    Context,
    ServiceCallError,
    add_organization_options,
)
from alooba_cli.output import MISSING, enum_label, timestamp

OK = "ok"
WARN = "warn"
FAIL = "FAIL"

DEFAULT_RECENT_DAYS = 14
# A callback or Harvest push still pending after this long is worth a look.
PENDING_TOO_LONG = dt.timedelta(hours=1)
WEBHOOK_URL = "https://<gateway>/v1/greenhouse/webhook"


@dataclass(frozen=True, slots=True)
class Webhook:
    action: str
    # The webhook's "When" in Greenhouse (reference §2.1; the unreject, unhire and
    # anonymize labels are unconfirmed, so pings are matched by a word, not the label).
    when: str
    ping_word: str
    ping_not: str = ""
    # Without it the integration misses something it must do (FAIL); else a warning.
    required: bool = True

    def matches(self, event: str) -> bool:
        label = event.lower()
        return self.ping_word in label and not (self.ping_not and self.ping_not in label)


# The actions the gateway acts on (services/gateway/src/gateway/handlers/webhooks.py).
WEBHOOKS = (
    Webhook("reject_candidate", "Candidate or prospect rejected", "reject", "unreject"),
    Webhook("unreject_candidate", "Candidate or prospect unrejected", "unreject"),
    Webhook("hire_candidate", "Candidate has been hired", "hire", "unhire"),
    Webhook("unhire_candidate", "Candidate has been unhired", "unhire"),
    Webhook("candidate_anonymized", "Candidate anonymized", "anonymi"),
    Webhook("delete_candidate", "Delete candidate", "delete candidate", required=False),
    Webhook("merge_candidate", "Merged candidate", "merge", required=False),
)


@dataclass(frozen=True, slots=True)
class Check:
    item: str
    status: str
    detail: str
    fix: str = ""


def register(
    commands: Subcommands, common: argparse.ArgumentParser, environ: Mapping[str, str]
) -> None:
    """Adds `doctor`."""
    doctor = add_action(
        commands,
        "doctor",
        _doctor,
        summary="check one organization's setup end to end: a checklist with a fix for "
        "each failure (exit status 1 when something failed)",
        common=common,
    )
    add_organization_options(doctor)
    add_harvest_option(doctor, environ)
    doctor.add_argument(
        "--recent-days",
        type=positive_int,
        default=DEFAULT_RECENT_DAYS,
        metavar="N",
        help=f"the partner key must have been used within N days (default {DEFAULT_RECENT_DAYS})",
    )


# --- small helpers -------------------------------------------------------------------


def _when(message: Any, field: str) -> dt.datetime | None:
    if not message.HasField(field):
        return None
    moment: dt.datetime = getattr(message, field).ToDatetime(tzinfo=dt.UTC)
    return moment


def _times(count: int) -> str:
    return "once" if count == 1 else f"{count} times"


def _later(first: dt.datetime | None, second: dt.datetime | None) -> bool:
    """`first` happened and after `second` (or `second` never did)."""
    return first is not None and (second is None or first > second)


# --- the checks ----------------------------------------------------------------------


def key_checks(keys: Sequence[Any], org: str, recent_days: int, now: dt.datetime) -> list[Check]:
    """An active partner key, and Greenhouse using it."""
    active = [k for k in keys if k.state == pb.API_KEY_STATE_ACTIVE]
    retiring = [k for k in keys if k.state == pb.API_KEY_STATE_RETIRING]
    give = (
        "give the secret to Greenhouse Support (the assessment partner key) and set it as "
        "the Secret Key of every Alooba webhook in Greenhouse"
    )
    if not active:
        gone = [k for k in keys if k.state in (pb.API_KEY_STATE_REVOKED, pb.API_KEY_STATE_EXPIRED)]
        detail = (
            "no active key ("
            + ", ".join(
                f"{k.prefix} {enum_label(pb.ApiKeyState.Name(k.state), 'API_KEY_STATE_')}"
                for k in gone
            )
            + ")"
            if gone
            else "no key was ever issued"
        )
        return [
            Check(
                "partner key",
                FAIL,
                detail + ": Greenhouse's calls and webhooks are all refused",
                f"`alooba-gh key issue --org {org}`, then {give}",
            )
        ]
    key = active[0]
    checks = [
        Check(
            "partner key",
            OK,
            f"active key {key.prefix}, issued {timestamp(key, 'create_time')}"
            + (
                f"; {len(retiring)} retiring until {timestamp(retiring[0], 'expire_time')}"
                if retiring
                else ""
            ),
        )
    ]
    used = _when(key, "last_used_time")
    recent = now - dt.timedelta(days=recent_days)
    old_in_use = [k for k in retiring if _later(_when(k, "last_used_time"), used)]
    if used is None and old_in_use:
        old = old_in_use[0]
        checks.append(
            Check(
                "partner key used",
                FAIL,
                f"Greenhouse still calls with the retiring key {old.prefix} (last used "
                f"{timestamp(old, 'last_used_time')}), which stops working at "
                f"{timestamp(old, 'expire_time')}; the active key {key.prefix} was never used",
                f"{give.capitalize()} (the active key's secret was shown by `key rotate`; if "
                f"it is lost, `alooba-gh key rotate --org {org} --grace 7d` and give that one)",
            )
        )
    elif used is None:
        checks.append(
            Check(
                "partner key used",
                FAIL,
                f"key {key.prefix} was never used: Greenhouse has not called the partner API "
                "with it",
                "Make sure Greenhouse Support entered this key for the organization "
                "(Greenhouse first calls list_tests when a recruiter adds the Alooba stage to "
                "a job); if nobody has the secret any more: `alooba-gh key rotate --org "
                f"{org}`, then {give}",
            )
        )
    elif used < recent:
        checks.append(
            Check(
                "partner key used",
                WARN,
                f"last used {timestamp(key, 'last_used_time')}, more than {recent_days} days ago",
                "Ask the customer whether the Alooba stage is still in use; if it is, "
                "Greenhouse has another key: check with Greenhouse Support which one",
            )
        )
    else:
        checks.append(
            Check("partner key used", OK, f"last used {timestamp(key, 'last_used_time')}")
        )
    return checks


def test_check(tests: Sequence[Any], org: str) -> Check:
    active = [t for t in tests if not t.archived]
    if not active:
        archived = len(tests) - len(active)
        return Check(
            "tests",
            FAIL,
            "no active test: list_tests answers an empty list"
            + (f" ({archived} archived)" if archived else ""),
            f'`alooba-gh test create --org {org} --name "NAME" --skill SKILL ...`',
        )
    names = ", ".join(t.name for t in active[:5]) + (", ..." if len(active) > 5 else "")
    return Check("tests", OK, f"{len(active)} active: {names}")


def _secret_fix(when: str, org: str) -> str:
    return (
        f'In Greenhouse: Configure → Dev Center → Webhooks → the "{when}" webhook → Secret '
        "Key: enter the organization's active partner key (`alooba-gh key list --org "
        f"{org}` shows its prefix; if nobody has the secret any more, `alooba-gh key rotate "
        f"--org {org}` issues a new one, which Greenhouse Support must get too)"
    )


def webhook_checks(health: Any, name: str, org: str) -> list[Check]:
    receipts = {r.action: r for r in health.webhook_receipts}
    checks = []
    for webhook in WEBHOOKS:
        item = f"webhook {webhook.action}"
        missing = FAIL if webhook.required else WARN
        receipt = receipts.get(webhook.action)
        success = _when(receipt, "last_success_time") if receipt else None
        failure = _when(receipt, "last_failure_time") if receipt else None
        ping = next((p for p in health.webhook_pings if webhook.matches(p.event)), None)
        if receipt is not None and _later(failure, success):
            accepted = (
                f"last accepted {timestamp(receipt, 'last_success_time')}"
                if success
                else "never accepted"
            )
            checks.append(
                Check(
                    item,
                    FAIL,
                    f"signature refused {_times(receipt.failure_count)}, last at "
                    f"{timestamp(receipt, 'last_failure_time')} ({accepted}): the webhook's "
                    "Secret Key in Greenhouse is not the partner key",
                    _secret_fix(webhook.when, org),
                )
            )
        elif receipt is not None and success is not None:
            refused = (
                f"; last signature failure {timestamp(receipt, 'last_failure_time')}"
                if failure
                else ""
            )
            checks.append(
                Check(
                    item,
                    OK,
                    f"last received {timestamp(receipt, 'last_success_time')} "
                    f"({receipt.success_count} in all){refused}",
                )
            )
        elif ping is not None and ping.active:
            checks.append(
                Check(
                    item,
                    OK,
                    f'pinged {timestamp(ping, "receive_time")} (webhook "{ping.name}"); '
                    "no event yet",
                )
            )
        elif ping is not None:
            checks.append(
                Check(
                    item,
                    missing,
                    f'webhook "{ping.name}" is disabled in Greenhouse (pinged '
                    f"{timestamp(ping, 'receive_time')})",
                    f'In Greenhouse: Configure → Dev Center → Webhooks → "{ping.name}" → enable '
                    "it (Greenhouse disables a webhook whose ping failed)",
                )
            )
        else:
            why = "" if webhook.required else " (optional: deletions and merges in Greenhouse)"
            checks.append(
                Check(
                    item,
                    missing,
                    f"never received, never pinged{why}",
                    f'In Greenhouse: Configure → Dev Center → Webhooks → Create New Webhook: When "'
                    f'{webhook.when}", Endpoint URL {WEBHOOK_URL}, Secret Key: the partner key, '
                    f"and under Advanced Settings the header X-Organisation: {name}",
                )
            )
    acted_on = {w.action for w in WEBHOOKS}
    for receipt in health.webhook_receipts:
        if receipt.action in acted_on:
            continue
        if _later(_when(receipt, "last_failure_time"), _when(receipt, "last_success_time")):
            checks.append(
                Check(
                    f"webhook {receipt.action}",
                    WARN,
                    f"signature refused {_times(receipt.failure_count)}, last at "
                    f"{timestamp(receipt, 'last_failure_time')}",
                    _secret_fix("…" if receipt.action == "other" else receipt.action, org),
                )
            )
    return checks


def callback_check(health: Any, now: dt.datetime) -> Check:
    callbacks = health.callbacks
    figures = (
        f"{callbacks.delivered} delivered (last {timestamp(callbacks, 'last_delivery_time')}), "
        f"{callbacks.pending} pending, {callbacks.dead} dead"
    )
    if callbacks.dead:
        return Check(
            "callbacks",
            FAIL,
            figures,
            "`alooba-gh outbox dead-letters --kind greenhouse.callback` shows why (401/403: "
            "Greenhouse does not have the active key; 404: deleted in Greenhouse); fix the "
            "cause, then `alooba-gh outbox replay ID ...`",
        )
    oldest = _when(callbacks, "oldest_pending_time")
    if oldest is not None and now - oldest > PENDING_TOO_LONG:
        return Check(
            "callbacks",
            WARN,
            f"{figures}; the oldest pending was queued "
            f"{timestamp(callbacks, 'oldest_pending_time')}",
            "They are retried by themselves: the assessments logs (`callback` errors) say "
            "what Greenhouse answers; check the egress to app.greenhouse.io (443)",
        )
    if not callbacks.delivered and not callbacks.pending:
        return Check("callbacks", OK, "none yet (sent when a result is final)")
    return Check("callbacks", OK, figures)


def dead_letter_check(health: Any) -> Check:
    # Dead callbacks are the callbacks item's.
    dead = [d for d in health.dead_letters if d.kind != "greenhouse.callback"]
    if not dead:
        return Check("dead letters", OK, "none")
    return Check(
        "dead letters",
        FAIL,
        ", ".join(f"{d.kind} {d.count}" for d in dead),
        "`alooba-gh outbox dead-letters --kind KIND` shows the errors; fix the cause, then "
        "`alooba-gh outbox replay ID ...`",
    )


def harvest_checks(
    status: Any, org: str, address: str, refresh_error: str, now: dt.datetime
) -> list[Check]:
    if status.mode in (hpb.CONNECTION_MODE_NONE, hpb.CONNECTION_MODE_UNSPECIFIED):
        return [
            Check(
                "harvest",
                WARN,
                "not connected (optional: scores are then not written to Greenhouse custom fields)",
                f"HARVEST_CLIENT_SECRET=... `alooba-gh harvest connect --org {org} --v3 "
                '--client-id ID --acting-user USER_ID` (a "Harvest V3 (OAuth)" credential and '
                f"a Site Admin's user id), or HARVEST_API_KEY=... `alooba-gh harvest connect "
                f"--org {org}` (a Harvest v1 key; Greenhouse retired v1 on 2026-08-31)",
            )
        ]
    v3 = status.mode == hpb.CONNECTION_MODE_V3
    mode = enum_label(hpb.ConnectionMode.Name(status.mode), "CONNECTION_MODE_")
    connection = f"Harvest {mode}, connected {timestamp(status, 'connect_time')}"
    checks = []
    if refresh_error:
        checks.append(
            Check(
                "harvest",
                WARN,
                f"{connection}; could not check again ({refresh_error}); showing the check of "
                f"{timestamp(status, 'check_time')}",
                "Try again later; `alooba-gh harvest status --org "
                f"{org} --refresh --harvest-addr {address}` shows the details",
            )
        )
    elif status.last_error and _later(
        _when(status, "last_error_time"), _when(status, "last_success_time")
    ):
        checks.append(
            Check(
                "harvest",
                WARN,
                f"{connection}; last error {timestamp(status, 'last_error_time')}: "
                f"{status.last_error}",
                f"If Greenhouse refused the credential, connect again with a new one: "
                f"`alooba-gh harvest connect --org {org}`",
            )
        )
    else:
        checks.append(
            Check("harvest", OK, f"{connection}, checked {timestamp(status, 'check_time')}")
        )

    missing = list(status.missing_permissions)
    checks.append(_granted_check(status, missing, v3))
    checks.append(_integration_user_check(status, org, missing, v3))

    if status.custom_fields:
        checks.append(
            Check(
                "harvest custom fields",
                OK,
                ", ".join(f.name for f in status.custom_fields),
            )
        )
    else:
        checks.append(
            Check(
                "harvest custom fields",
                WARN,
                "none yet",
                "Nothing to do: they are created (or found by name) on the first push of a "
                "final result, once the items above are ok",
            )
        )

    queue = f"{status.queue_depth} pending"
    oldest = _when(status, "oldest_pending_time")
    replay = f"--service-addr {address}"
    if status.dead_letters:
        checks.append(
            Check(
                "harvest dead letters",
                FAIL,
                f"{status.dead_letters} dead; {queue}",
                f"`alooba-gh outbox dead-letters {replay}` shows the errors; fix the cause, "
                f"then `alooba-gh outbox replay ID ... {replay}`",
            )
        )
    elif oldest is not None and now - oldest > PENDING_TOO_LONG:
        checks.append(
            Check(
                "harvest dead letters",
                WARN,
                f"none; {queue}, the oldest queued {timestamp(status, 'oldest_pending_time')}",
                "Pushes wait while an item above is not ok, or while Greenhouse rate-limits; "
                f"`alooba-gh harvest status --org {org} --harvest-addr {address}`",
            )
        )
    else:
        checks.append(Check("harvest dead letters", OK, f"none; {queue}"))
    return checks


def _granted_check(status: Any, missing: list[str], v3: bool) -> Check:
    """v1: endpoint permissions (Manage Permissions); v3: scopes (Manage Scopes), where a
    403 may also mean that the acting user is not a Site Admin (the status says which)."""
    if not missing:
        what = "scope" if v3 else "permission"
        return Check("harvest permissions", OK, f"every needed {what} granted")
    if v3:
        said = next((a for a in status.actions_needed if missing[0] in a), "")
        return Check(
            "harvest permissions",
            FAIL,
            "missing scopes: " + ", ".join(missing),
            said
            or "A Greenhouse admin: Configure → Dev Center → API Credential Management → the "
            '"Harvest V3 (OAuth)" credential → Manage Scopes → grant '
            + ", ".join(missing),
        )
    return Check(
        "harvest permissions",
        FAIL,
        "missing: " + ", ".join(missing),
        "A Greenhouse admin who can manage ALL organization's API credentials: "
        "Configure → Dev Center → API Credential Management → this Harvest credential "
        "→ Manage Permissions → grant " + ", ".join(missing),
    )


def _integration_user_check(status: Any, org: str, missing: list[str], v3: bool) -> Check:
    if not status.HasField("integration_user"):
        fix = (
            "No active Site Admin was found to create it on behalf of: "
            f"`alooba-gh harvest connect --org {org} --acting-user USER_ID` naming one"
        )
        if v3:
            fix = (
                "No Site Admin was found to act as (Greenhouse v3 shows nothing to a user who "
                f"is not one): `alooba-gh harvest connect --org {org} --v3 --client-id ID "
                "--acting-user USER_ID` naming one"
            )
        return Check(
            "harvest integration user",
            FAIL,
            "not found and not created",
            "Grant the permissions above first" if missing else fix,
        )
    user = status.integration_user
    if not user.site_admin:
        return Check(
            "harvest integration user",
            FAIL,
            f"{user.email} (user id {user.id}) is not a Site Admin: pushes wait",
            f"A Greenhouse Site Admin must make {user.email} a Site Admin (Configure → "
            "Users → the user → permissions: Site Admin); Harvest cannot grant it",
        )
    return Check(
        "harvest integration user", OK, f"{user.email} (user id {user.id}) is a Site Admin"
    )


async def _harvest(ctx: Context, organization_id: str, org: str) -> list[Check]:
    stub = harvest_stub(ctx)
    now = dt.datetime.now(dt.UTC)
    try:
        status = await stub.GetStatus(
            hpb.GetStatusRequest(organization_id=organization_id, refresh=True)
        )
        return harvest_checks(status, org, stub.address, "", now)
    except ServiceCallError as refresh_failed:
        refresh_error = f"{refresh_failed.code().name}: {refresh_failed.error.details()}"
    try:
        # harvest-sync answers, but could not ask Greenhouse: its last check still tells.
        status = await stub.GetStatus(hpb.GetStatusRequest(organization_id=organization_id))
    except ServiceCallError:
        return [
            Check(
                "harvest",
                FAIL,
                f"{stub.service} at {stub.address} could not be asked ({refresh_error})",
                "Is harvest-sync running, and is --harvest-addr (or $HARVEST_SYNC_ADDR) its "
                "address?",
            )
        ]
    return harvest_checks(status, org, stub.address, refresh_error, now)


# --- the command -----------------------------------------------------------------------


async def _organization(args: argparse.Namespace, ctx: Context) -> Any:
    if args.org_id:
        response = await ctx.admin.GetOrganization(pb.GetOrganizationRequest(id=args.org_id))
        return response.organization
    return await ctx.organization_by_name(args.org)


async def _doctor(args: argparse.Namespace, ctx: Context) -> None:
    organization = await _organization(args, ctx)
    org = shlex.quote(organization.name)
    now = dt.datetime.now(dt.UTC)
    keys = await ctx.admin.ListApiKeys(pb.ListApiKeysRequest(organization_id=organization.id))
    tests = await ctx.admin.ListOrganizationTests(
        pb.ListOrganizationTestsRequest(organization_id=organization.id, include_archived=True)
    )
    health = await ctx.admin.GetIntegrationHealth(
        pb.GetIntegrationHealthRequest(organization_id=organization.id)
    )
    checks = [
        *key_checks(keys.api_keys, org, args.recent_days, now),
        test_check(tests.tests, org),
        *webhook_checks(health, organization.name, org),
        callback_check(health, now),
        dead_letter_check(health),
        *await _harvest(ctx, organization.id, org),
    ]
    if ctx.json:
        print(json.dumps([asdict(check) for check in checks], indent=2, ensure_ascii=False))
    else:
        _print_checklist(organization, checks, now)
    failed = sum(1 for check in checks if check.status == FAIL)
    if failed:
        raise CommandError(
            f"{failed} of {len(checks)} checks failed for {organization.name!r}: "
            "see the fix under each"
        )


def _print_checklist(organization: Any, checks: Iterable[Check], now: dt.datetime) -> None:
    checks = list(checks)
    print(
        f"Setup of {organization.name} ({organization.id}), checked "
        f"{now.strftime('%Y-%m-%dT%H:%M:%SZ')}"
    )
    print()
    width = max(len(check.item) for check in checks)
    for check in checks:
        print(f"{check.status:<4}  {check.item:<{width}}  {check.detail or MISSING}")
        if check.status != OK and check.fix:
            print(f"{'':<4}  {'':<{width}}  fix: {check.fix}")
    counts = {status: sum(1 for c in checks if c.status == status) for status in (OK, WARN, FAIL)}
    print()
    print(f"{counts[FAIL]} FAIL, {counts[WARN]} warn, {counts[OK]} ok.")
