"""`python -m gateway`."""

from __future__ import annotations

import argparse
import os
import sys

from alooba_common.config import ConfigError
from alooba_common.event_loop import run_event_loop
from alooba_common.logging import configure_logging
from alooba_common.tracing import TracingSettings, start_tracing
from gateway.config import Settings
from gateway.server import serve


def run(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(
        prog="python -m gateway",
        description="Serve Greenhouse's partner API and webhooks over HTTP (settings from the "
        "environment: services/gateway/README.md).",
    ).parse_args(argv)
    try:
        settings = Settings.from_env(os.environ)
        tracing = TracingSettings.from_env(os.environ)
    except ConfigError as error:
        print(f"gateway: configuration error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    configure_logging(settings.logging, service="gateway")
    start_tracing(tracing, service="gateway")
    try:
        run_event_loop(serve(settings))
    except ConfigError as error:  # a certificate that is missing or not the gateway's
        print(f"gateway: configuration error: {error}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    run()
