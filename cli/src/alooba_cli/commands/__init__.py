"""The command groups. Each module registers its sub-commands, with a handler each, on
the parser `alooba_cli.main` builds."""

from __future__ import annotations

import argparse
from typing import TypeAlias

from alooba_cli.context import Handler

# argparse does not export the type of `add_subparsers()`'s result, and it is not
# subscriptable at run time.
Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def add_group(commands: Subcommands, name: str, summary: str) -> Subcommands:
    """A command group such as `org`, whose actions (`create`, `list`, ...) are required."""
    group = commands.add_parser(name, help=summary, description=summary)
    actions: Subcommands = group.add_subparsers(dest="action", metavar="ACTION", required=True)
    return actions


def add_action(
    actions: Subcommands,
    name: str,
    handler: Handler,
    *,
    summary: str,
    common: argparse.ArgumentParser,
) -> argparse.ArgumentParser:
    """One runnable command. `common` carries the global options, so they are accepted
    after the command as well as before it."""
    parser: argparse.ArgumentParser = actions.add_parser(
        name, help=summary, description=summary, parents=[common]
    )
    # The parser travels with the handler so a handler's UsageError is reported with the
    # usage line of the command that was actually typed.
    parser.set_defaults(handler=handler, parser=parser)
    return parser


def positive_int(text: str) -> int:
    """argparse `type=` for a count that must be at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value
