"""`alooba-gh invitation`: look at an organization's invitations (read-only)."""

from __future__ import annotations

import argparse
from typing import Any

from alooba.assessments.v1 import assessments_pb2 as pb
from alooba_cli.commands import Subcommands, add_action, add_group, positive_int
from alooba_cli.context import Context, add_organization_options
from alooba_cli.output import enum_label, print_fields, print_json, print_table, timestamp

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
            ("ID", "STATUS", "TEST", "CREATED", "EXPIRES"),
            [
                (
                    i.id,
                    _status(i),
                    i.test_name,
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
    print_fields(
        [
            ("id", invitation.id),
            ("status", _status(invitation)),
            ("test", f"{invitation.test_name} ({invitation.test_id})"),
            ("candidate id", invitation.candidate_id),
            ("application id", invitation.application_id),
            ("callback url", invitation.callback_url),
            ("created", timestamp(invitation, "create_time")),
            ("expires", timestamp(invitation, "expire_time")),
        ]
    )
    print()
    print("Events:")
    if not invitation.events:
        print("  none")
    for event in invitation.events:
        print(f"  {timestamp(event, 'occur_time')}  {event.kind}")
