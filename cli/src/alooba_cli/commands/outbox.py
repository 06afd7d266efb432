"""`alooba-gh outbox`: a service's dead letters (outbox messages that were given up on),
listed and replayed over the OutboxService every service with an outbox serves."""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Mapping
from typing import Any

from alooba.outbox.v1 import outbox_pb2 as pb
from alooba_cli.commands import Subcommands, add_action, add_group, positive_int
from alooba_cli.context import CommandError, Context, UsageError
from alooba_cli.output import MISSING, one_line, print_json, print_table, timestamp

# What the service lists when asked for 0, and the most it lists at once.
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
# LAST ERROR is cut to this many characters in the table; --json has all of it.
ERROR_WIDTH = 60


def register(
    commands: Subcommands, common: argparse.ArgumentParser, environ: Mapping[str, str]
) -> None:
    """Adds `outbox dead-letters|replay`. `environ` supplies OUTBOX_ADDR."""
    actions = add_group(commands, "outbox", "a service's outbox: list and replay dead letters")

    listing = add_action(
        actions,
        "dead-letters",
        _dead_letters,
        summary="list dead letters, most recently failed first",
        common=common,
    )
    _add_service_option(listing, environ)
    listing.add_argument("--kind", default="", metavar="KIND", help="only this kind")
    listing.add_argument(
        "--limit",
        type=positive_int,
        default=0,
        metavar="N",
        help=f"at most N (default {DEFAULT_LIMIT}, at most {MAX_LIMIT})",
    )

    replay = add_action(
        actions,
        "replay",
        _replay,
        summary="queue dead letters again, with a fresh attempt budget",
        common=common,
    )
    _add_service_option(replay, environ)
    replay.add_argument("ids", nargs="*", metavar="ID", help="dead letters to replay")
    replay.add_argument("--all", action="store_true", help="replay every dead letter")
    replay.add_argument("--kind", default="", metavar="KIND", help="with --all: only this kind")


def _add_service_option(parser: argparse.ArgumentParser, environ: Mapping[str, str]) -> None:
    # None means "the assessments service": main falls back to --assessments-addr, which
    # is only known once everything is parsed.
    parser.add_argument(
        "--service-addr",
        metavar="HOST:PORT",
        default=environ.get("OUTBOX_ADDR") or None,
        help="the service whose outbox this is (env OUTBOX_ADDR; default: --assessments-addr)",
    )


def _dead_letters_count(count: int) -> str:
    return f"{count} dead letter" if count == 1 else f"{count} dead letters"


def _invitation_id(letter: Any) -> str:
    """The invitation the message is about, when its payload names one."""
    fields = letter.payload.fields
    # harvest-sync's pushes name their result, which is the invitation's id.
    value = fields.get("invitation_id") or fields.get("result_id")  # google.protobuf.Value
    if value is None or value.WhichOneof("kind") != "string_value" or not value.string_value:
        return MISSING
    return str(value.string_value)


async def _dead_letters(args: argparse.Namespace, ctx: Context) -> None:
    if args.limit > MAX_LIMIT:
        raise UsageError(f"--limit is at most {MAX_LIMIT}")
    response = await ctx.outbox.ListDeadLetters(
        pb.ListDeadLettersRequest(kind=args.kind, limit=args.limit)
    )
    if ctx.json:
        print_json(response)
        return
    letters = response.dead_letters
    if not letters:
        print(f"No dead letters of kind {args.kind!r}." if args.kind else "No dead letters.")
        return
    print_table(
        ("ID", "KIND", "ATTEMPTS", "UPDATED", "INVITATION", "LAST ERROR"),
        [
            (
                letter.id,
                letter.kind,
                str(letter.attempts),
                timestamp(letter, "update_time"),
                _invitation_id(letter),
                one_line(letter.last_error, ERROR_WIDTH) or MISSING,
            )
            for letter in letters
        ],
    )
    limit = min(args.limit or DEFAULT_LIMIT, MAX_LIMIT)
    if len(letters) >= limit:
        more = "--limit N shows more" if limit < MAX_LIMIT else "--kind narrows the list"
        print()
        print(f"Only the {limit} most recent are shown: {more}.")


async def _replay(args: argparse.Namespace, ctx: Context) -> None:
    if args.all and args.ids:
        raise UsageError("give either IDs or --all, not both")
    if not args.all and not args.ids:
        raise UsageError("give the IDs of the dead letters to replay, or --all")
    if args.kind and not args.all:
        raise UsageError("--kind goes with --all")
    if args.all:
        await _replay_all(args, ctx)
        return

    ids = list(dict.fromkeys(args.ids))  # a repeated id is one message
    response = await ctx.outbox.ReplayDeadLetters(pb.ReplayDeadLettersRequest(ids=ids))
    if response.replayed == 0:
        raise CommandError(
            "none of the ids is a dead letter (unknown, or already replayed): "
            "`outbox dead-letters` lists them"
        )
    if ctx.json:
        print_json(response)
        return
    print(f"{_dead_letters_count(response.replayed)} queued again.")
    if response.replayed < len(ids):
        print(
            f"{len(ids) - response.replayed} of the {len(ids)} ids were not dead letters "
            "(unknown, or already replayed)."
        )


async def _replay_all(args: argparse.Namespace, ctx: Context) -> None:
    """Lists dead letters and replays them, a page at a time, until none is left.

    A replayed message that fails permanently again is dead again at once, and newest:
    only ids not yet replayed by this command are replayed, so it always ends."""
    seen: set[str] = set()
    replayed = 0
    kinds: Counter[str] = Counter()
    while True:
        listed = await ctx.outbox.ListDeadLetters(
            pb.ListDeadLettersRequest(kind=args.kind, limit=MAX_LIMIT)
        )
        fresh = [letter for letter in listed.dead_letters if letter.id not in seen]
        if not fresh:
            break
        seen.update(letter.id for letter in fresh)
        response = await ctx.outbox.ReplayDeadLetters(
            pb.ReplayDeadLettersRequest(ids=[letter.id for letter in fresh])
        )
        replayed += response.replayed
        kinds.update(letter.kind for letter in fresh)
    if ctx.json:
        print_json(pb.ReplayDeadLettersResponse(replayed=replayed))
        return
    if not seen:
        print(f"No dead letters of kind {args.kind!r}." if args.kind else "No dead letters.")
        return
    if replayed < len(seen):
        # Someone else replayed some between this command's list and its replay.
        print(
            f"{replayed} of the {_dead_letters_count(len(seen))} listed queued again; "
            "the others were not dead letters any more."
        )
        return
    by_kind = ", ".join(f"{kind} {count}" for kind, count in sorted(kinds.items()))
    print(f"{_dead_letters_count(replayed)} queued again ({by_kind}).")
