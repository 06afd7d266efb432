"""`alooba-gh key`: issue, rotate, revoke and list an organization's partner API keys."""

from __future__ import annotations

import argparse
from typing import Any

from alooba.assessments.v1 import assessments_pb2 as pb
from alooba_cli.commands import Subcommands, add_action, add_group
from alooba_cli.context import Context, add_organization_options
from alooba_cli.durations import duration_argument
from alooba_cli.output import enum_label, print_fields, print_json, print_table, timestamp

_STATE_PREFIX = "API_KEY_STATE_"


def register(commands: Subcommands, common: argparse.ArgumentParser) -> None:
    """Adds `key issue|rotate|revoke|list`."""
    actions = add_group(commands, "key", "partner API keys: issue, rotate, revoke, list")

    issue = add_action(
        actions,
        "issue",
        _issue,
        summary="issue an organization's first key (the secret is shown once)",
        common=common,
    )
    add_organization_options(issue)

    rotate = add_action(
        actions,
        "rotate",
        _rotate,
        summary="issue a new key; the previous one keeps working for a grace period",
        common=common,
    )
    add_organization_options(rotate)
    rotate.add_argument(
        "--grace",
        metavar="DURATION",
        type=duration_argument,
        default=0,
        help="how long the previous key keeps working: 3600, 90s, 30m, 12h or 7d, at most "
        "30 days (default: the service's, 7 days unless configured otherwise)",
    )

    revoke = add_action(
        actions, "revoke", _revoke, summary="revoke a key immediately", common=common
    )
    add_organization_options(revoke)
    revoke.add_argument("key_id", metavar="KEY_ID")

    listing = add_action(
        actions, "list", _list, summary="list keys (never their secrets)", common=common
    )
    add_organization_options(listing)


def key_fields(key: Any) -> list[tuple[str, str]]:
    """A key as a `key: value` block; only the timestamps that apply to it are shown."""
    fields = [
        ("id", key.id),
        ("prefix", key.prefix),
        ("state", enum_label(pb.ApiKeyState.Name(key.state), _STATE_PREFIX)),
        ("created", timestamp(key, "create_time")),
    ]
    for label, field in (
        ("expires", "expire_time"),
        ("revoked", "revoke_time"),
        ("last used", "last_used_time"),
    ):
        if key.HasField(field):
            fields.append((label, timestamp(key, field)))
    return fields


def _print_secret(secret: str) -> None:
    print()
    print(f"secret: {secret}")
    print("This secret will not be shown again: store it now.")


async def _issue(args: argparse.Namespace, ctx: Context) -> None:
    organization_id = await ctx.organization_id(args)
    response = await ctx.admin.IssueApiKey(pb.IssueApiKeyRequest(organization_id=organization_id))
    if ctx.json:
        print_json(response)
        return
    print_fields(key_fields(response.api_key))
    _print_secret(response.secret)


async def _rotate(args: argparse.Namespace, ctx: Context) -> None:
    organization_id = await ctx.organization_id(args)
    response = await ctx.admin.RotateApiKey(
        pb.RotateApiKeyRequest(organization_id=organization_id, grace_period_seconds=args.grace)
    )
    if ctx.json:
        print_json(response)
        return
    print_fields(key_fields(response.api_key))
    _print_secret(response.secret)
    previous = response.previous
    print()
    print(
        f"The previous key {previous.id} ({previous.prefix}) is retiring: it keeps working "
        f"until {timestamp(previous, 'expire_time')}."
    )


async def _revoke(args: argparse.Namespace, ctx: Context) -> None:
    organization_id = await ctx.organization_id(args)
    response = await ctx.admin.RevokeApiKey(
        pb.RevokeApiKeyRequest(organization_id=organization_id, api_key_id=args.key_id)
    )
    if ctx.json:
        print_json(response)
        return
    print_fields(key_fields(response.api_key))


async def _list(args: argparse.Namespace, ctx: Context) -> None:
    organization_id = await ctx.organization_id(args)
    response = await ctx.admin.ListApiKeys(pb.ListApiKeysRequest(organization_id=organization_id))
    if ctx.json:
        print_json(response)
        return
    if not response.api_keys:
        print("No API keys.")
        return
    print_table(
        ("ID", "PREFIX", "STATE", "CREATED", "EXPIRES", "REVOKED", "LAST USED"),
        [
            (
                key.id,
                key.prefix,
                enum_label(pb.ApiKeyState.Name(key.state), _STATE_PREFIX),
                timestamp(key, "create_time"),
                timestamp(key, "expire_time"),
                timestamp(key, "revoke_time"),
                timestamp(key, "last_used_time"),
            )
            for key in response.api_keys
        ],
    )
