"""The setup check: one organization's Greenhouse setup judged end to end — partner key,
test catalog, webhooks, callbacks, dead letters, Harvest — as a checklist with what to
do about each item that is not ok.

This is the one place the verdicts are made (AdminService.CheckSetup): `alooba-gh
doctor` prints them and the console's Greenhouse page shows them, so the two can never
disagree. Only the wording of a fix depends on who reads it (`Fixes`): an operator is
told the `alooba-gh` command, a customer's Admin the console page.

The checks read the same protobuf messages the admin API answers with, so what is
judged is exactly what an operator can look at.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import grpc

from alooba.assessments.v1 import assessments_pb2 as pb
from alooba.harvest_sync.v1 import harvest_sync_pb2 as hpb
from alooba.harvest_sync.v1 import harvest_sync_pb2_grpc as hgrpc

OK = pb.CHECK_STATUS_OK
WARN = pb.CHECK_STATUS_WARN
FAIL = pb.CHECK_STATUS_FAIL

DEFAULT_RECENT_DAYS = 14
# A callback or Harvest push still pending after this long is worth a look.
PENDING_TOO_LONG = dt.timedelta(hours=1)
WEBHOOK_URL = "https://<gateway>/v1/greenhouse/webhook"
MISSING = "-"


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
# The five the seed asks for (the four status events and Candidate anonymized).
REQUIRED_WEBHOOKS = tuple(w for w in WEBHOOKS if w.required)


def check(item: str, status: pb.CheckStatus.ValueType, detail: str, fix: str = "") -> pb.SetupCheck:
    return pb.SetupCheck(item=item, status=status, detail=detail, fix=fix)


# --- who reads the fix -------------------------------------------------------------


class Fixes(Protocol):
    """The wording of the fixes that name a tool: an `alooba-gh` command or a page."""

    def issue_key(self) -> str: ...
    def rotate_key(self) -> str: ...
    def show_key_prefix(self) -> str: ...
    def create_test(self) -> str: ...
    def dead_letters(self, kind: str | None, service: str) -> str: ...
    def connect_harvest(self) -> str: ...
    def connect_harvest_as(self, *, v3: bool) -> str: ...
    def harvest_status(self) -> str: ...


@dataclass(frozen=True, slots=True)
class OperatorFixes:
    """`alooba-gh` commands. `org` is the organization's name, shell-quoted."""

    org: str
    harvest_addr: str

    def issue_key(self) -> str:
        return f"`alooba-gh key issue --org {self.org}`"

    def rotate_key(self) -> str:
        return f"`alooba-gh key rotate --org {self.org}`"

    def show_key_prefix(self) -> str:
        return f"`alooba-gh key list --org {self.org}` shows its prefix"

    def create_test(self) -> str:
        return f'`alooba-gh test create --org {self.org} --name "NAME" --skill SKILL ...`'

    def dead_letters(self, kind: str | None, service: str) -> str:
        addr = f" --service-addr {self.harvest_addr}" if service == "harvest-sync" else ""
        which = f" --kind {kind}" if kind else " --kind KIND" if service == "assessments" else ""
        return (
            f"`alooba-gh outbox dead-letters{which}{addr}` shows the errors; fix the cause, "
            f"then `alooba-gh outbox replay ID ...{addr}`"
        )

    def connect_harvest(self) -> str:
        return (
            f"HARVEST_CLIENT_SECRET=... `alooba-gh harvest connect --org {self.org} --v3 "
            '--client-id ID --acting-user USER_ID` (a "Harvest V3 (OAuth)" credential and '
            f"a Site Admin's user id), or HARVEST_API_KEY=... `alooba-gh harvest connect "
            f"--org {self.org}` (a Harvest v1 key; Greenhouse retired v1 on 2026-08-31)"
        )

    def connect_harvest_as(self, *, v3: bool) -> str:
        credential = " --v3 --client-id ID" if v3 else ""
        return (
            f"`alooba-gh harvest connect --org {self.org}{credential} --acting-user USER_ID` "
            "naming one"
        )

    def harvest_status(self) -> str:
        return f"`alooba-gh harvest status --org {self.org} --harvest-addr {self.harvest_addr}`"


@dataclass(frozen=True, slots=True)
class ConsoleFixes:
    """The console's pages, for a customer's Owner or Admin."""

    def issue_key(self) -> str:
        return "Generate the key under Organization Settings → Greenhouse → API key"

    def rotate_key(self) -> str:
        return "Rotate the key under Organization Settings → Greenhouse → API key"

    def show_key_prefix(self) -> str:
        return "the API key card shows its prefix"

    def create_test(self) -> str:
        return "Add a test on the Tests page"

    def dead_letters(self, kind: str | None, service: str) -> str:
        return (
            "Ask your Alooba contact to look at the failed deliveries"
            + (f" ({kind})" if kind else "")
            + " and send them again once the cause is fixed"
        )

    def connect_harvest(self) -> str:
        return (
            'Connect Harvest under Organization Settings → Harvest with a "Harvest V3 (OAuth)" '
            "credential and a Site Admin's user id (optional)"
        )

    def connect_harvest_as(self, *, v3: bool) -> str:
        return "Connect again under Organization Settings → Harvest, naming a Site Admin's user id"

    def harvest_status(self) -> str:
        return "Organization Settings → Harvest shows the queue"


# --- small helpers -------------------------------------------------------------------


def _when(message: Any, field: str) -> dt.datetime | None:
    if not message.HasField(field):
        return None
    moment: dt.datetime = getattr(message, field).ToDatetime(tzinfo=dt.UTC)
    return moment


def stamp(message: Any, field: str) -> str:
    """The Timestamp field as ISO-8601 UTC, or "-" when unset."""
    moment = _when(message, field)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else MISSING


def _times(count: int) -> str:
    return "once" if count == 1 else f"{count} times"


def _later(first: dt.datetime | None, second: dt.datetime | None) -> bool:
    """`first` happened and after `second` (or `second` never did)."""
    return first is not None and (second is None or first > second)


def _label(name: str, prefix: str) -> str:
    return name.removeprefix(prefix).lower()


# --- the checks ----------------------------------------------------------------------


def key_checks(
    keys: Sequence[pb.ApiKey], fixes: Fixes, recent_days: int, now: dt.datetime
) -> list[pb.SetupCheck]:
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
                f"{k.prefix} {_label(pb.ApiKeyState.Name(k.state), 'API_KEY_STATE_')}" for k in gone
            )
            + ")"
            if gone
            else "no key was ever issued"
        )
        return [
            check(
                "partner key",
                FAIL,
                detail + ": Greenhouse's calls and webhooks are all refused",
                f"{fixes.issue_key()}, then {give}",
            )
        ]
    key = active[0]
    checks = [
        check(
            "partner key",
            OK,
            f"active key {key.prefix}, issued {stamp(key, 'create_time')}"
            + (
                f"; {len(retiring)} retiring until {stamp(retiring[0], 'expire_time')}"
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
            check(
                "partner key used",
                FAIL,
                f"Greenhouse still calls with the retiring key {old.prefix} (last used "
                f"{stamp(old, 'last_used_time')}), which stops working at "
                f"{stamp(old, 'expire_time')}; the active key {key.prefix} was never used",
                f"{give.capitalize()} (the active key's secret was shown when it was rotated; "
                f"if it is lost, {fixes.rotate_key()} again and give that one)",
            )
        )
    elif used is None:
        checks.append(
            check(
                "partner key used",
                FAIL,
                f"key {key.prefix} was never used: Greenhouse has not called the partner API "
                "with it",
                "Make sure Greenhouse Support entered this key for the organization "
                "(Greenhouse first calls list_tests when a recruiter adds the Alooba stage to "
                f"a job); if nobody has the secret any more: {fixes.rotate_key()}, then {give}",
            )
        )
    elif used < recent:
        checks.append(
            check(
                "partner key used",
                WARN,
                f"last used {stamp(key, 'last_used_time')}, more than {recent_days} days ago",
                "Ask whether the Alooba stage is still in use; if it is, "
                "Greenhouse has another key: check with Greenhouse Support which one",
            )
        )
    else:
        checks.append(check("partner key used", OK, f"last used {stamp(key, 'last_used_time')}"))
    return checks


def test_check(tests: Sequence[pb.Test], fixes: Fixes) -> pb.SetupCheck:
    active = [t for t in tests if not t.archived]
    if not active:
        archived = len(tests) - len(active)
        return check(
            "tests",
            FAIL,
            "no active test: list_tests answers an empty list"
            + (f" ({archived} archived)" if archived else ""),
            fixes.create_test(),
        )
    names = ", ".join(t.name for t in active[:5]) + (", ..." if len(active) > 5 else "")
    return check("tests", OK, f"{len(active)} active: {names}")


def _secret_fix(when: str, fixes: Fixes) -> str:
    return (
        f'In Greenhouse: Configure → Dev Center → Webhooks → the "{when}" webhook → Secret '
        f"Key: enter the organization's active partner key ({fixes.show_key_prefix()}; if "
        f"nobody has the secret any more, {fixes.rotate_key()}: Greenhouse Support must get "
        "the new one too)"
    )


def webhook_checks(
    health: pb.GetIntegrationHealthResponse, name: str, fixes: Fixes, webhook_url: str = ""
) -> list[pb.SetupCheck]:
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
                f"last accepted {stamp(receipt, 'last_success_time')}"
                if success
                else "never accepted"
            )
            checks.append(
                check(
                    item,
                    FAIL,
                    f"signature refused {_times(receipt.failure_count)}, last at "
                    f"{stamp(receipt, 'last_failure_time')} ({accepted}): the webhook's "
                    "Secret Key in Greenhouse is not the partner key",
                    _secret_fix(webhook.when, fixes),
                )
            )
        elif receipt is not None and success is not None:
            refused = (
                f"; last signature failure {stamp(receipt, 'last_failure_time')}" if failure else ""
            )
            checks.append(
                check(
                    item,
                    OK,
                    f"last received {stamp(receipt, 'last_success_time')} "
                    f"({receipt.success_count} in all){refused}",
                )
            )
        elif ping is not None and ping.active:
            checks.append(
                check(
                    item,
                    OK,
                    f'pinged {stamp(ping, "receive_time")} (webhook "{ping.name}"); no event yet',
                )
            )
        elif ping is not None:
            checks.append(
                check(
                    item,
                    missing,
                    f'webhook "{ping.name}" is disabled in Greenhouse (pinged '
                    f"{stamp(ping, 'receive_time')})",
                    f'In Greenhouse: Configure → Dev Center → Webhooks → "{ping.name}" → enable '
                    "it (Greenhouse disables a webhook whose ping failed)",
                )
            )
        else:
            why = "" if webhook.required else " (optional: deletions and merges in Greenhouse)"
            checks.append(
                check(
                    item,
                    missing,
                    f"never received, never pinged{why}",
                    f'In Greenhouse: Configure → Dev Center → Webhooks → Create New Webhook: When "'
                    f'{webhook.when}", Endpoint URL {webhook_url or WEBHOOK_URL}, Secret Key: the '
                    "partner key, and under Advanced Settings the header X-Organisation: "
                    f"{name}",
                )
            )
    acted_on = {w.action for w in WEBHOOKS}
    for receipt in health.webhook_receipts:
        if receipt.action in acted_on:
            continue
        if _later(_when(receipt, "last_failure_time"), _when(receipt, "last_success_time")):
            checks.append(
                check(
                    f"webhook {receipt.action}",
                    WARN,
                    f"signature refused {_times(receipt.failure_count)}, last at "
                    f"{stamp(receipt, 'last_failure_time')}",
                    _secret_fix("…" if receipt.action == "other" else receipt.action, fixes),
                )
            )
    return checks


def callback_check(
    health: pb.GetIntegrationHealthResponse, fixes: Fixes, now: dt.datetime
) -> pb.SetupCheck:
    callbacks = health.callbacks
    figures = (
        f"{callbacks.delivered} delivered (last {stamp(callbacks, 'last_delivery_time')}), "
        f"{callbacks.pending} pending, {callbacks.dead} dead"
    )
    if callbacks.dead:
        return check(
            "callbacks",
            FAIL,
            figures,
            "The errors say why (401/403: Greenhouse does not have the active key; 404: "
            "deleted in Greenhouse). " + fixes.dead_letters("greenhouse.callback", "assessments"),
        )
    oldest = _when(callbacks, "oldest_pending_time")
    if oldest is not None and now - oldest > PENDING_TOO_LONG:
        return check(
            "callbacks",
            WARN,
            f"{figures}; the oldest pending was queued {stamp(callbacks, 'oldest_pending_time')}",
            "They are retried by themselves: the assessments logs (`callback` errors) say "
            "what Greenhouse answers; check the egress to app.greenhouse.io (443)",
        )
    if not callbacks.delivered and not callbacks.pending:
        return check("callbacks", OK, "none yet (sent when a result is final)")
    return check("callbacks", OK, figures)


def dead_letter_check(health: pb.GetIntegrationHealthResponse, fixes: Fixes) -> pb.SetupCheck:
    # Dead callbacks are the callbacks item's.
    dead = [d for d in health.dead_letters if d.kind != "greenhouse.callback"]
    if not dead:
        return check("dead letters", OK, "none")
    return check(
        "dead letters",
        FAIL,
        ", ".join(f"{d.kind} {d.count}" for d in dead),
        fixes.dead_letters(None, "assessments"),
    )


# Why an invitation's scores skip Harvest (assessments.greenhouse), as a person reads it.
_SKIP_REASONS = {
    "no_profile_url": "no greenhouse_profile_url",
    "url_shape": "a greenhouse_profile_url naming no candidate (/people/<id>)",
    "no_application": "no application_id in the greenhouse_profile_url",
}


def harvest_skip_check(health: pb.GetIntegrationHealthResponse) -> pb.SetupCheck:
    """Invitations created and sent, whose scores cannot be written to Greenhouse."""
    if not health.harvest_skips:
        return check("harvest ids", OK, "every send_test named its Greenhouse application")
    total = sum(skip.count for skip in health.harvest_skips)
    latest = max(health.harvest_skips, key=lambda skip: skip.last_time.ToDatetime())
    reasons = ", ".join(
        f"{skip.count} with {_SKIP_REASONS.get(skip.reason, skip.reason)}"
        for skip in health.harvest_skips
    )
    return check(
        "harvest ids",
        WARN,
        f"{total} invitation(s) sent whose scores will not reach Greenhouse's custom fields: "
        f"{reasons} (latest {stamp(latest, 'last_time')})",
        "Nothing is lost: the tests were sent and Greenhouse reads their results through "
        "test_status. Only the Harvest push needs the ids in Greenhouse's profile URL "
        "(https://app.greenhouse.io/people/<candidate id>?application_id=<application id>); "
        "if every send_test now lacks them, Greenhouse changed what it sends: tell the "
        "integration's maintainers",
    )


def harvest_checks(
    status: hpb.HarvestStatus, fixes: Fixes, refresh_error: str, now: dt.datetime
) -> list[pb.SetupCheck]:
    if status.mode in (hpb.CONNECTION_MODE_NONE, hpb.CONNECTION_MODE_UNSPECIFIED):
        return [
            check(
                "harvest",
                WARN,
                "not connected (optional: scores are then not written to Greenhouse custom fields)",
                fixes.connect_harvest(),
            )
        ]
    mode = _label(hpb.ConnectionMode.Name(status.mode), "CONNECTION_MODE_")
    connection = f"Harvest {mode}, connected {stamp(status, 'connect_time')}"
    checks = []
    if refresh_error:
        checks.append(
            check(
                "harvest",
                WARN,
                f"{connection}; could not check again ({refresh_error}); showing the check of "
                f"{stamp(status, 'check_time')}",
                f"Try again later; {fixes.harvest_status()} shows the details",
            )
        )
    elif status.last_error and _later(
        _when(status, "last_error_time"), _when(status, "last_success_time")
    ):
        checks.append(
            check(
                "harvest",
                WARN,
                f"{connection}; last error {stamp(status, 'last_error_time')}: {status.last_error}",
                "If Greenhouse refused the credential, connect again with a new one: "
                + fixes.connect_harvest(),
            )
        )
    else:
        checks.append(check("harvest", OK, f"{connection}, checked {stamp(status, 'check_time')}"))

    missing = list(status.missing_permissions)
    v3 = status.mode == hpb.CONNECTION_MODE_V3
    checks.append(_granted_check(status, missing, v3=v3))
    checks.append(_integration_user_check(status, missing, fixes, v3=v3))

    if status.custom_fields:
        checks.append(
            check("harvest custom fields", OK, ", ".join(f.name for f in status.custom_fields))
        )
    else:
        checks.append(
            check(
                "harvest custom fields",
                WARN,
                "none yet",
                "Nothing to do: they are created (or found by name) on the first push of a "
                "final result, once the items above are ok",
            )
        )

    queue = f"{status.queue_depth} pending"
    oldest = _when(status, "oldest_pending_time")
    if status.dead_letters:
        checks.append(
            check(
                "harvest dead letters",
                FAIL,
                f"{status.dead_letters} dead; {queue}",
                fixes.dead_letters(None, "harvest-sync"),
            )
        )
    elif oldest is not None and now - oldest > PENDING_TOO_LONG:
        checks.append(
            check(
                "harvest dead letters",
                WARN,
                f"none; {queue}, the oldest queued {stamp(status, 'oldest_pending_time')}",
                "Pushes wait while an item above is not ok, or while Greenhouse rate-limits; "
                + fixes.harvest_status(),
            )
        )
    else:
        checks.append(check("harvest dead letters", OK, f"none; {queue}"))
    return checks


def _granted_check(status: hpb.HarvestStatus, missing: list[str], *, v3: bool) -> pb.SetupCheck:
    """v1: endpoint permissions (Manage Permissions); v3: scopes (Manage Scopes), where a
    403 may also mean that the acting user is not a Site Admin (the status says which)."""
    if not missing:
        what = "scope" if v3 else "permission"
        return check("harvest permissions", OK, f"every needed {what} granted")
    if v3:
        said = next((a for a in status.actions_needed if missing[0] in a), "")
        return check(
            "harvest permissions",
            FAIL,
            "missing scopes: " + ", ".join(missing),
            said
            or "A Greenhouse admin: Configure → Dev Center → API Credential Management → the "
            '"Harvest V3 (OAuth)" credential → Manage Scopes → grant '
            + ", ".join(missing),
        )
    return check(
        "harvest permissions",
        FAIL,
        "missing: " + ", ".join(missing),
        "A Greenhouse admin who can manage ALL organization's API credentials: "
        "Configure → Dev Center → API Credential Management → this Harvest credential "
        "→ Manage Permissions → grant " + ", ".join(missing),
    )


def _integration_user_check(
    status: hpb.HarvestStatus, missing: list[str], fixes: Fixes, *, v3: bool
) -> pb.SetupCheck:
    if not status.HasField("integration_user"):
        found = (
            "No Site Admin was found to act as (Greenhouse v3 shows nothing to a user who is "
            "not one): "
            if v3
            else "No active Site Admin was found to create it on behalf of: "
        )
        return check(
            "harvest integration user",
            FAIL,
            "not found and not created",
            "Grant the permissions above first"
            if missing
            else found + fixes.connect_harvest_as(v3=v3),
        )
    user = status.integration_user
    if not user.site_admin:
        return check(
            "harvest integration user",
            FAIL,
            f"{user.email} (user id {user.id}) is not a Site Admin: pushes wait",
            f"A Greenhouse Site Admin must make {user.email} a Site Admin (Configure → "
            "Users → the user → permissions: Site Admin); Harvest cannot grant it",
        )
    return check(
        "harvest integration user", OK, f"{user.email} (user id {user.id}) is a Site Admin"
    )


class HarvestStatusSource:
    """harvest-sync's view of one organization's Harvest connection, for the check."""

    def __init__(self, channel: grpc.aio.Channel, address: str, *, timeout: float) -> None:
        self._stub = hgrpc.HarvestSyncServiceStub(channel)
        self.address = address
        self._timeout = timeout

    async def checks(
        self, organization_id: str, fixes: Fixes, *, refresh: bool, now: dt.datetime
    ) -> list[pb.SetupCheck]:
        refresh_error = ""
        if refresh:
            try:
                status = (
                    await self._stub.GetStatus(
                        hpb.GetStatusRequest(organization_id=organization_id, refresh=True),
                        timeout=self._timeout,
                    )
                ).status
                return harvest_checks(status, fixes, "", now)
            except grpc.aio.AioRpcError as error:
                refresh_error = f"{error.code().name}: {error.details()}"
        try:
            # harvest-sync answers, but could not ask Greenhouse: its last check still tells.
            status = (
                await self._stub.GetStatus(
                    hpb.GetStatusRequest(organization_id=organization_id), timeout=self._timeout
                )
            ).status
        except grpc.aio.AioRpcError as error:
            why = refresh_error or f"{error.code().name}: {error.details()}"
            return [
                check(
                    "harvest",
                    FAIL,
                    f"harvest-sync at {self.address} could not be asked ({why})",
                    "Is harvest-sync running, and is the assessments service's "
                    "HARVEST_SYNC_ADDR its address?",
                )
            ]
        return harvest_checks(status, fixes, refresh_error, now)


def verdicts(
    organization: pb.Organization,
    keys: Sequence[pb.ApiKey],
    tests: Sequence[pb.Test],
    health: pb.GetIntegrationHealthResponse,
    harvest: Sequence[pb.SetupCheck],
    fixes: Fixes,
    *,
    recent_days: int,
    now: dt.datetime,
    webhook_url: str = "",
) -> list[pb.SetupCheck]:
    """Every check, in the order a person fixes them."""
    return [
        *key_checks(keys, fixes, recent_days, now),
        test_check(tests, fixes),
        *webhook_checks(health, organization.name, fixes, webhook_url),
        callback_check(health, fixes, now),
        dead_letter_check(health, fixes),
        harvest_skip_check(health),
        *harvest,
    ]
