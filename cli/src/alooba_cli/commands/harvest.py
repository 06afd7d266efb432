"""`alooba-gh harvest`: an organization's Harvest connection in the harvest-sync service —
connect (v1 API key or v3 OAuth client), status, disconnect — and its push queue's dead
letters. Secrets are read from the environment or standard input, never from the command
line, where `ps` and shell history would keep them."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping

from alooba.harvest_sync.v1 import harvest_sync_pb2 as pb
from alooba_cli.commands import Subcommands, add_action, add_group, positive_int
from alooba_cli.context import (
    CommandError,
    Context,
    NamedStub,
    UsageError,
    add_organization_options,
)
from alooba_cli.output import (
    MISSING,
    enum_label,
    print_fields,
    print_json,
    print_table,
    timestamp,
    yes_no,
)

DEFAULT_HARVEST_ADDR = "localhost:50053"


def add_harvest_option(parser: argparse.ArgumentParser, environ: Mapping[str, str]) -> None:
    parser.add_argument(
        "--harvest-addr",
        metavar="HOST:PORT",
        default=environ.get("HARVEST_SYNC_ADDR") or DEFAULT_HARVEST_ADDR,
        help=f"the harvest-sync service (env HARVEST_SYNC_ADDR; default {DEFAULT_HARVEST_ADDR})",
    )
    parser.set_defaults(uses_harvest=True)


def register(
    commands: Subcommands, common: argparse.ArgumentParser, environ: Mapping[str, str]
) -> None:
    """Adds `harvest connect|status|disconnect`."""
    actions = add_group(
        commands, "harvest", "Harvest: connect an organization, its status, disconnect"
    )

    connect = add_action(
        actions,
        "connect",
        _connect,
        summary="store and check the organization's Harvest credential; create the "
        "integration user",
        common=common,
    )
    add_organization_options(connect)
    add_harvest_option(connect, environ)
    version = connect.add_mutually_exclusive_group()
    version.add_argument(
        "--v1",
        dest="mode",
        action="store_const",
        const="v1",
        help="a Harvest v1/v2 API key, read from $HARVEST_API_KEY or --secret-stdin (the default)",
    )
    version.add_argument(
        "--v3",
        dest="mode",
        action="store_const",
        const="v3",
        help="a Harvest v3 OAuth client: --client-id, and the secret from "
        "$HARVEST_CLIENT_SECRET or --secret-stdin",
    )
    connect.add_argument("--client-id", metavar="ID", help="with --v3: the OAuth client id")
    connect.add_argument(
        "--secret-stdin",
        action="store_true",
        help="read the API key (v1) or client secret (v3) from standard input",
    )
    connect.add_argument(
        "--acting-user",
        type=positive_int,
        metavar="USER_ID",
        help="the Greenhouse Site Admin the integration user is created on behalf of "
        "(default: the first active Site Admin); with --v3 also whom Greenhouse is read as "
        "until the integration user is a Site Admin (v3 shows nothing to other users)",
    )
    connect.add_argument(
        "--integration-email",
        metavar="EMAIL",
        default="",
        help="the integration user's e-mail address (default: the service's)",
    )

    status = add_action(
        actions,
        "status",
        _status,
        summary="connection, permissions, integration user, custom fields and queue",
        common=common,
    )
    add_organization_options(status)
    add_harvest_option(status, environ)
    status.add_argument("--refresh", action="store_true", help="check against Greenhouse first")

    disconnect = add_action(
        actions,
        "disconnect",
        _disconnect,
        summary="forget the organization's Harvest credential",
        common=common,
    )
    add_organization_options(disconnect)
    add_harvest_option(disconnect, environ)


def harvest_stub(ctx: Context) -> NamedStub:
    assert ctx.harvest is not None, "harvest commands set uses_harvest"
    return ctx.harvest


def _secret(args: argparse.Namespace, variable: str, what: str) -> str:
    if args.secret_stdin:
        value = sys.stdin.readline().strip()
    else:
        value = os.environ.get(variable, "").strip()
    if not value:
        raise UsageError(f"{what}: set ${variable} or pass --secret-stdin")
    return value


async def _connect(args: argparse.Namespace, ctx: Context) -> None:
    mode = args.mode or "v1"
    request = pb.ConnectRequest(
        organization_id=await ctx.organization_id(args),
        acting_user_id=args.acting_user or 0,
        integration_user_email=args.integration_email,
    )
    if mode == "v1":
        if args.client_id:
            raise UsageError("--client-id goes with --v3")
        request.v1.api_key = _secret(args, "HARVEST_API_KEY", "the Harvest API key")
    else:
        if not args.client_id:
            raise UsageError("--v3 needs --client-id")
        request.v3.client_id = args.client_id
        request.v3.client_secret = _secret(args, "HARVEST_CLIENT_SECRET", "the client secret")
    status = (await harvest_stub(ctx).Connect(request)).status
    _print_status(status, ctx)


async def _status(args: argparse.Namespace, ctx: Context) -> None:
    status = (
        await harvest_stub(ctx).GetStatus(
            pb.GetStatusRequest(
                organization_id=await ctx.organization_id(args), refresh=args.refresh
            )
        )
    ).status
    _print_status(status, ctx)


async def _disconnect(args: argparse.Namespace, ctx: Context) -> None:
    response = await harvest_stub(ctx).Disconnect(
        pb.DisconnectRequest(organization_id=await ctx.organization_id(args))
    )
    if ctx.json:
        print_json(response)
        return
    if not response.disconnected:
        raise CommandError("the organization has no Harvest connection")
    print("Disconnected: the credential is forgotten; queued pushes will dead-letter.")


def _print_status(status: pb.HarvestStatus, ctx: Context) -> None:
    if ctx.json:
        print_json(status)
        return
    mode = enum_label(pb.ConnectionMode.Name(status.mode), "CONNECTION_MODE_")
    if status.mode == pb.CONNECTION_MODE_NONE:
        print("Harvest is not connected for this organization (`harvest connect`).")
        return
    v3 = status.mode == pb.CONNECTION_MODE_V3
    # Greenhouse's windows: v1 "per 10 seconds"; v3 a fixed 30 s (harvest-v3-facts.md row 39).
    window = "30 s" if v3 else "10 s"
    user = status.integration_user
    print_fields(
        [
            ("connection", f"Harvest {mode}"),
            ("connected", timestamp(status, "connect_time")),
            ("checked", timestamp(status, "check_time")),
            (
                "missing scopes" if v3 else "missing permissions",
                ", ".join(status.missing_permissions) or "none",
            ),
            (
                "integration user",
                f"{user.email} (id {user.id}, Site Admin: {yes_no(user.site_admin)})"
                if status.HasField("integration_user")
                else MISSING,
            ),
            (
                "queue",
                f"{status.queue_depth} pending, oldest queued "
                f"{timestamp(status, 'oldest_pending_time')}",
            ),
            ("dead letters", str(status.dead_letters)),
            ("last success", timestamp(status, "last_success_time")),
            (
                "last error",
                f"{timestamp(status, 'last_error_time')} {status.last_error}"
                if status.last_error
                else MISSING,
            ),
            ("429s seen", str(status.rate_limited_count)),
            ("rate limit", f"{status.rate_limit} per {window}" if status.rate_limit else MISSING),
        ]
    )
    if status.custom_fields:
        print()
        print_table(
            ("CUSTOM FIELD", "ID", "NAME KEY"),
            [(f.name, str(f.id), f.name_key) for f in status.custom_fields],
        )
    if status.actions_needed:
        print()
        print("To do:")
        for action in status.actions_needed:
            print(f"  - {action}")
