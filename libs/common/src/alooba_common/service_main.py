"""The command line every gRPC service shares: `python -m <service> [serve|migrate]`."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Coroutine, Mapping
from pathlib import Path
from typing import Any, Protocol, TypeVar

import structlog

from alooba_common.config import ConfigError, DatabaseSettings, LoggingSettings
from alooba_common.event_loop import run_event_loop
from alooba_common.logging import configure_logging
from alooba_common.migrations import upgrade_to_head
from alooba_common.tracing import TracingSettings, start_tracing


class ServiceSettings(Protocol):
    @property
    def database(self) -> DatabaseSettings: ...

    @property
    def logging(self) -> LoggingSettings: ...


SettingsT = TypeVar("SettingsT", bound=ServiceSettings)


def run_service(
    *,
    name: str,
    load_settings: Callable[[Mapping[str, str]], SettingsT],
    serve: Callable[[SettingsT], Coroutine[Any, Any, None]],
    migrations: Path,
    commands: Mapping[str, Callable[[SettingsT], Coroutine[Any, Any, None]]] | None = None,
    argv: list[str] | None = None,
) -> None:
    """`commands` are the service's own, beside serve and migrate (say, `reencrypt`)."""
    commands = commands or {}
    parser = argparse.ArgumentParser(prog=f"python -m {name.replace('-', '_')}")
    parser.add_argument(
        "command",
        nargs="?",
        default="serve",
        choices=("serve", "migrate", *commands),
        help="serve (default): run the gRPC server; migrate: apply database migrations"
        + "".join(f"; {command}" for command in commands),
    )
    args = parser.parse_args(argv)
    if args.command == "migrate":
        # A migration Job only needs its database: it serves nothing, so it holds no
        # certificate and none of the service's other settings.
        try:
            database = DatabaseSettings.from_env(os.environ, f"sqlite:///var/{name}.db")
            logging_settings = LoggingSettings.from_env(os.environ)
        except ConfigError as error:
            print(f"{name}: configuration error: {error}", file=sys.stderr)
            raise SystemExit(2) from None
        configure_logging(logging_settings, service=name)
        upgrade_to_head(migrations, database.url)
        structlog.get_logger(name).info("migrations.applied")
        return
    try:
        settings = load_settings(os.environ)
        tracing = TracingSettings.from_env(os.environ)
    except ConfigError as error:
        print(f"{name}: configuration error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    configure_logging(settings.logging, service=name)
    if args.command in commands:
        run_event_loop(commands[args.command](settings))
        return
    start_tracing(tracing, service=name)
    try:
        run_event_loop(serve(settings))
    except ConfigError as error:  # found as it starts serving: a missing or wrong certificate
        print(f"{name}: configuration error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
