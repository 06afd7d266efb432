"""`alooba-gh user`: the customer's people in the console — invite someone to an
organization with a role (how an organization gets its first Owner), list its members."""

from __future__ import annotations

import argparse
from collections.abc import Mapping

from alooba.console.v1 import console_pb2 as pb
from alooba_cli.commands import Subcommands, add_action, add_group
from alooba_cli.context import Context, add_organization_options
from alooba_cli.output import enum_label, print_fields, print_json, print_table, timestamp

DEFAULT_CONSOLE_ADDR = "localhost:50054"
_ROLES = {"owner": pb.ROLE_OWNER, "admin": pb.ROLE_ADMIN, "member": pb.ROLE_MEMBER}


def _add_console_option(parser: argparse.ArgumentParser, environ: Mapping[str, str]) -> None:
    parser.add_argument(
        "--console-addr",
        metavar="HOST:PORT",
        default=environ.get("CONSOLE_ADDR") or DEFAULT_CONSOLE_ADDR,
        help=f"the console's gRPC address (env CONSOLE_ADDR; default {DEFAULT_CONSOLE_ADDR})",
    )
    parser.set_defaults(uses_console=True)


def register(
    commands: Subcommands, common: argparse.ArgumentParser, environ: Mapping[str, str]
) -> None:
    """Adds `user invite|list`."""
    actions = add_group(commands, "user", "the console's users: invite (the first Owner), list")
    invite = add_action(
        actions,
        "invite",
        _invite,
        summary="invite a person to an organization's console with a role; prints the link "
        "that accepts it (also emailed to them)",
        common=common,
    )
    add_organization_options(invite)
    _add_console_option(invite, environ)
    invite.add_argument("--email", required=True, metavar="EMAIL", help="their e-mail address")
    invite.add_argument(
        "--role", required=True, choices=sorted(_ROLES), help="owner, admin or member"
    )

    listing = add_action(
        actions, "list", _list, summary="an organization's members and roles", common=common
    )
    add_organization_options(listing)
    _add_console_option(listing, environ)


async def _invite(args: argparse.Namespace, ctx: Context) -> None:
    organization_id = await ctx.organization_id(args)
    response = await ctx.console.InviteUser(
        pb.InviteUserRequest(
            organization_id=organization_id, email=args.email, role=_ROLES[args.role]
        )
    )
    if ctx.json:
        print_json(response)
        return
    print_fields(
        [
            ("invited", f"{args.email} as {args.role}"),
            ("accept at", response.accept_url),
            ("expires", timestamp(response, "expire_time")),
        ]
    )
    print()
    print("The link was emailed too; it works once. Anyone holding it can join: hand it over")
    print("only to that person.")


async def _list(args: argparse.Namespace, ctx: Context) -> None:
    organization_id = await ctx.organization_id(args)
    response = await ctx.console.ListMembers(pb.ListMembersRequest(organization_id=organization_id))
    if ctx.json:
        print_json(response)
        return
    if not response.members:
        print("No members.")
        return
    print_table(
        ("EMAIL", "NAME", "ROLE", "JOINED"),
        [
            (
                m.email,
                m.display_name,
                enum_label(pb.Role.Name(m.role), "ROLE_"),
                timestamp(m, "join_time"),
            )
            for m in response.members
        ],
    )
