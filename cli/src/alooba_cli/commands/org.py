"""`alooba-gh org`: create, list and show organizations."""

from __future__ import annotations

import argparse
from typing import Any

from alooba.assessments.v1 import assessments_pb2 as pb
from alooba_cli.commands import Subcommands, add_action, add_group
from alooba_cli.context import Context, UsageError
from alooba_cli.output import print_fields, print_json, print_table, timestamp


def register(commands: Subcommands, common: argparse.ArgumentParser) -> None:
    """Adds `org create|list|show`."""
    actions = add_group(commands, "org", "organizations: create, list, show")

    create = add_action(actions, "create", _create, summary="create an organization", common=common)
    create.add_argument(
        "name",
        metavar="NAME",
        help="exact and case-sensitive: what Greenhouse sends in the X-Organisation header",
    )

    add_action(actions, "list", _list, summary="list organizations by name", common=common)

    show = add_action(
        actions, "show", _show, summary="show one organization, by name or --id", common=common
    )
    show.add_argument("name", metavar="NAME", nargs="?", help="the organization's exact name")
    show.add_argument("--id", metavar="ID", help="look the organization up by id instead")


def organization_fields(org: Any) -> list[tuple[str, str]]:
    """An organization as a `key: value` block."""
    return [("id", org.id), ("name", org.name), ("created", timestamp(org, "create_time"))]


async def _create(args: argparse.Namespace, ctx: Context) -> None:
    response = await ctx.admin.CreateOrganization(pb.CreateOrganizationRequest(name=args.name))
    if ctx.json:
        print_json(response)
        return
    print_fields(organization_fields(response.organization))


async def _list(args: argparse.Namespace, ctx: Context) -> None:
    response = await ctx.admin.ListOrganizations(pb.ListOrganizationsRequest())
    if ctx.json:
        print_json(response)
        return
    if not response.organizations:
        print("No organizations.")
        return
    print_table(
        ("ID", "NAME", "CREATED"),
        [(o.id, o.name, timestamp(o, "create_time")) for o in response.organizations],
    )


async def _show(args: argparse.Namespace, ctx: Context) -> None:
    if (args.name is None) == (args.id is None):
        raise UsageError("give either NAME or --id ID")
    if args.id is not None:
        response = await ctx.admin.GetOrganization(pb.GetOrganizationRequest(id=args.id))
        organization = response.organization
    else:
        organization = await ctx.organization_by_name(args.name)
    if ctx.json:
        print_json(pb.GetOrganizationResponse(organization=organization))
        return
    print_fields(organization_fields(organization))
