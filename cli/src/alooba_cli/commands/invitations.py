"""`alooba-gh invitation`: look at an organization's invitations (read-only)."""

from __future__ import annotations

import argparse
from typing import Any

from alooba.assessments.v1 import assessments_pb2 as pb
from alooba_cli.commands import Subcommands, add_action, add_group, positive_int
from alooba_cli.context import Context, add_organization_options
from alooba_cli.output import (
    MISSING,
    enum_label,
    print_fields,
    print_json,
    print_table,
    timestamp,
    yes_no,
)

_STATUS_PREFIX = "INVITATION_STATUS_"


def register(commands: Subcommands, common: argparse.ArgumentParser) -> None:
    """Adds `invitation list|show`."""
    actions = add_group(commands, "invitation", "invitations: list, show")

    listing = add_action(
        actions, "list", _list, summary="list invitations, newest first", common=common
    )
    add_organization_options(listing)
    listing.add_argument(
        "--limit",
        type=positive_int,
        default=0,
        metavar="N",
        help="at most N per page (default 50, at most 500)",
    )
    listing.add_argument(
        "--page-token", default="", metavar="T", help="the next page, from the previous list"
    )

    show = add_action(
        actions, "show", _show, summary="one invitation with its event history", common=common
    )
    add_organization_options(show)
    show.add_argument("invitation_id", metavar="INVITATION_ID")


def _status(invitation: Any) -> str:
    return enum_label(pb.InvitationStatus.Name(invitation.status), _STATUS_PREFIX)


def _points(value: float) -> str:
    """A 0-100 score as people write it: 90, 72.5."""
    return f"{value:g}"


def _score(invitation: Any) -> str:
    """The total score, or "-" before there is one."""
    return _points(invitation.score) if invitation.HasField("score") else MISSING


def _skill_scores(invitation: Any) -> str:
    """`SQL 90, Python 72`."""
    return ", ".join(f"{item.skill} {_points(item.score)}" for item in invitation.skill_scores)


def invitation_fields(invitation: Any) -> list[tuple[str, str]]:
    """An invitation as a `key: value` block; progress and results only once they exist."""
    fields = [
        ("id", invitation.id),
        ("status", _status(invitation)),
        ("test", f"{invitation.test_name} ({invitation.test_id})"),
        ("candidate id", invitation.candidate_id),
        ("application id", invitation.application_id),
        ("callback url", invitation.callback_url),
        ("manual evaluation", yes_no(invitation.needs_manual_evaluation)),
        ("created", timestamp(invitation, "create_time")),
        ("expires", timestamp(invitation, "expire_time")),
    ]
    for label, field in (
        ("started", "start_time"),
        ("submitted", "submit_time"),
        ("completed", "complete_time"),
    ):
        if invitation.HasField(field):
            fields.append((label, timestamp(invitation, field)))
    if invitation.HasField("score"):
        fields.append(("score", _score(invitation)))
    if invitation.skill_scores:
        fields.append(("skill scores", _skill_scores(invitation)))
    if invitation.evaluator:
        fields.append(("evaluator", invitation.evaluator))
    return fields


async def _list(args: argparse.Namespace, ctx: Context) -> None:
    organization_id = await ctx.organization_id(args)
    response = await ctx.admin.ListInvitations(
        pb.ListInvitationsRequest(
            organization_id=organization_id, page_size=args.limit, page_token=args.page_token
        )
    )
    if ctx.json:
        print_json(response)
        return
    if not response.invitations:
        print("No invitations.")
    else:
        print_table(
            ("ID", "STATUS", "TEST", "SCORE", "CREATED", "EXPIRES"),
            [
                (
                    i.id,
                    _status(i),
                    i.test_name,
                    _score(i),
                    timestamp(i, "create_time"),
                    timestamp(i, "expire_time"),
                )
                for i in response.invitations
            ],
        )
    if response.next_page_token:
        print()
        print(f"More: add --page-token {response.next_page_token}")


async def _show(args: argparse.Namespace, ctx: Context) -> None:
    organization_id = await ctx.organization_id(args)
    response = await ctx.admin.GetInvitation(
        pb.GetInvitationRequest(organization_id=organization_id, invitation_id=args.invitation_id)
    )
    if ctx.json:
        print_json(response)
        return
    invitation = response.invitation
    print_fields(invitation_fields(invitation))
    print()
    print("Events:")
    if not invitation.events:
        print("  none")
    for event in invitation.events:
        print(f"  {timestamp(event, 'occur_time')}  {event.kind}")
