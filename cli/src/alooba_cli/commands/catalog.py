"""`alooba-gh test`: an organization's test catalog (what Greenhouse's list_tests shows)."""

from __future__ import annotations

import argparse
from typing import Any

from alooba.assessments.v1 import assessments_pb2 as pb
from alooba_cli.commands import Subcommands, add_action, add_group, positive_int
from alooba_cli.context import Context, UsageError, add_organization_options
from alooba_cli.output import MISSING, print_fields, print_json, print_table, timestamp, yes_no


def register(commands: Subcommands, common: argparse.ArgumentParser) -> None:
    """Adds `test create|update|archive|list`."""
    actions = add_group(commands, "test", "the test catalog: create, update, archive, list")

    create = add_action(actions, "create", _create, summary="add a test", common=common)
    add_organization_options(create)
    create.add_argument("--name", required=True, metavar="TEST_NAME", help="shown in Greenhouse")
    create.add_argument(
        "--skill",
        dest="skills",
        action="append",
        default=[],
        metavar="SKILL",
        help="a skill the test covers; repeat for several",
    )
    create.add_argument(
        "--manual-evaluation",
        action="store_true",
        help="results need a person to evaluate them before they are complete",
    )
    create.add_argument(
        "--expiry-days",
        type=positive_int,
        default=0,
        metavar="N",
        help="days from sending until an unfinished invitation expires "
        "(default: the service's, 7 unless configured otherwise)",
    )

    update = add_action(
        actions, "update", _update, summary="change only the fields given", common=common
    )
    add_organization_options(update)
    update.add_argument("test_id", metavar="TEST_ID")
    update.add_argument("--name", metavar="TEST_NAME")
    skills = update.add_mutually_exclusive_group()
    skills.add_argument(
        "--skill",
        dest="skills",
        action="append",
        metavar="SKILL",
        help="replaces all the test's skills; repeat for several",
    )
    skills.add_argument("--clear-skills", action="store_true", help="remove every skill")
    update.add_argument(
        "--manual-evaluation",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="whether results need a person to evaluate them",
    )
    update.add_argument("--expiry-days", type=positive_int, metavar="N")

    archive = add_action(
        actions,
        "archive",
        _archive,
        summary="archive a test: Greenhouse stops listing it; invitations are kept",
        common=common,
    )
    add_organization_options(archive)
    archive.add_argument("test_id", metavar="TEST_ID")

    listing = add_action(actions, "list", _list, summary="list tests", common=common)
    add_organization_options(listing)
    listing.add_argument("--all", action="store_true", help="include archived tests")


def _skills(test: Any) -> str:
    return ", ".join(test.skills) or MISSING


def test_fields(test: Any) -> list[tuple[str, str]]:
    """A test as a `key: value` block."""
    return [
        ("id", test.id),
        ("name", test.name),
        ("skills", _skills(test)),
        ("manual evaluation", yes_no(test.needs_manual_evaluation)),
        ("expiry days", str(test.expiry_days)),
        ("archived", yes_no(test.archived)),
        ("created", timestamp(test, "create_time")),
        ("updated", timestamp(test, "update_time")),
    ]


def _print_test(response: Any, ctx: Context) -> None:
    if ctx.json:
        print_json(response)
    else:
        print_fields(test_fields(response.test))


async def _create(args: argparse.Namespace, ctx: Context) -> None:
    organization_id = await ctx.organization_id(args)
    response = await ctx.admin.CreateTest(
        pb.CreateTestRequest(
            organization_id=organization_id,
            name=args.name,
            skills=args.skills,
            needs_manual_evaluation=args.manual_evaluation,
            expiry_days=args.expiry_days,
        )
    )
    _print_test(response, ctx)


async def _update(args: argparse.Namespace, ctx: Context) -> None:
    changes = (args.name, args.skills, args.manual_evaluation, args.expiry_days)
    if all(change is None for change in changes) and not args.clear_skills:
        raise UsageError(
            "nothing to change: give --name, --skill, --clear-skills, "
            "--[no-]manual-evaluation or --expiry-days"
        )
    organization_id = await ctx.organization_id(args)
    request = pb.UpdateTestRequest(organization_id=organization_id, test_id=args.test_id)
    if args.name is not None:
        request.name = args.name
    if args.skills is not None or args.clear_skills:
        # Presence of the (possibly empty) list is what tells the service to replace it.
        request.skills.SetInParent()
        request.skills.skills.extend(args.skills or [])
    if args.manual_evaluation is not None:
        request.needs_manual_evaluation = args.manual_evaluation
    if args.expiry_days is not None:
        request.expiry_days = args.expiry_days
    _print_test(await ctx.admin.UpdateTest(request), ctx)


async def _archive(args: argparse.Namespace, ctx: Context) -> None:
    organization_id = await ctx.organization_id(args)
    response = await ctx.admin.ArchiveTest(
        pb.ArchiveTestRequest(organization_id=organization_id, test_id=args.test_id)
    )
    _print_test(response, ctx)


async def _list(args: argparse.Namespace, ctx: Context) -> None:
    organization_id = await ctx.organization_id(args)
    response = await ctx.admin.ListOrganizationTests(
        pb.ListOrganizationTestsRequest(organization_id=organization_id, include_archived=args.all)
    )
    if ctx.json:
        print_json(response)
        return
    if not response.tests:
        print("No tests." if args.all else "No active tests (--all includes archived ones).")
        return
    print_table(
        ("ID", "NAME", "SKILLS", "MANUAL", "EXPIRY DAYS", "ARCHIVED"),
        [
            (
                t.id,
                t.name,
                _skills(t),
                yes_no(t.needs_manual_evaluation),
                str(t.expiry_days),
                yes_no(t.archived),
            )
            for t in response.tests
        ],
    )
