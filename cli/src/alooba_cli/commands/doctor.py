"""`alooba-gh doctor`: one organization's Greenhouse setup checked end to end — partner
key, test catalog, webhooks, callbacks, dead letters, Harvest — printed as a checklist
with what to do about each item that is not ok. Exit status 1 when an item failed.

The verdicts are the assessments service's (AdminService.CheckSetup), the same the
console's Greenhouse page shows; this command only prints them."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Mapping
from typing import Any

from alooba.assessments.v1 import assessments_pb2 as pb
from alooba_cli.commands import Subcommands, add_action, positive_int
from alooba_cli.context import CommandError, Context, add_organization_options
from alooba_cli.output import MISSING, enum_label, timestamp

DEFAULT_RECENT_DAYS = 14
_STATUS = {
    pb.CHECK_STATUS_OK: "ok",
    pb.CHECK_STATUS_WARN: "warn",
    pb.CHECK_STATUS_FAIL: "FAIL",
}


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
    doctor.add_argument(
        "--recent-days",
        type=positive_int,
        default=DEFAULT_RECENT_DAYS,
        metavar="N",
        help=f"the partner key must have been used within N days (default {DEFAULT_RECENT_DAYS})",
    )


def status_word(check: Any) -> str:
    return _STATUS.get(check.status, enum_label(pb.CheckStatus.Name(check.status), "CHECK_STATUS_"))


async def _doctor(args: argparse.Namespace, ctx: Context) -> None:
    organization_id = await ctx.organization_id(args)
    report = await ctx.admin.CheckSetup(
        pb.CheckSetupRequest(
            organization_id=organization_id,
            recent_days=args.recent_days,
            audience=pb.FIX_AUDIENCE_OPERATOR,
            refresh_harvest=True,
        )
    )
    checks = list(report.checks)
    if ctx.json:
        document = [
            {"item": c.item, "status": status_word(c), "detail": c.detail, "fix": c.fix}
            for c in checks
        ]
        print(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        _print_checklist(report.organization, checks, timestamp(report, "check_time"))
    failed = sum(1 for check in checks if check.status == pb.CHECK_STATUS_FAIL)
    if failed:
        raise CommandError(
            f"{failed} of {len(checks)} checks failed for {report.organization.name!r}: "
            "see the fix under each"
        )


def _print_checklist(organization: Any, checks: Iterable[Any], checked: str) -> None:
    checks = list(checks)
    print(f"Setup of {organization.name} ({organization.id}), checked {checked}")
    print()
    width = max(len(check.item) for check in checks)
    for check in checks:
        print(f"{status_word(check):<4}  {check.item:<{width}}  {check.detail or MISSING}")
        if check.status != pb.CHECK_STATUS_OK and check.fix:
            print(f"{'':<4}  {'':<{width}}  fix: {check.fix}")
    counts = {word: sum(1 for c in checks if status_word(c) == word) for word in _STATUS.values()}
    print()
    print(f"{counts['FAIL']} FAIL, {counts['warn']} warn, {counts['ok']} ok.")
