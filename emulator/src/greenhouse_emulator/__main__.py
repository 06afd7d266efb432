"""The emulator as a program.

    greenhouse-emulator [serve] --partner-url URL --api-key KEY [--host H] [--port P]
                                [--cert-dir DIR] [--no-tls]
    greenhouse-emulator list-tests  --partner-url URL --api-key KEY
    greenhouse-emulator send-test   --partner-url URL --api-key KEY --test-id ID
                                    [--email E ...] [--wait SECONDS]
    greenhouse-emulator test-status --partner-url URL --api-key KEY --interview-id ID
    greenhouse-emulator harvest [--host H] [--port P] [--rate-limit N] [--rate-window S]
                                [--v3-rate-window S] [--token-lifetime S]
                                [--v3-behaviour worst-case|other] [--patch-custom-fields ...]
                                [...one option per unconfirmed v3 behaviour]
                                [--no-tls] [--cert-dir DIR]

`serve` runs until Ctrl-C or SIGTERM; it prints its callback base URL and CA certificate
path, and serves /_emulator/tests, /_emulator/violations, /_emulator/callbacks and
/_emulator/webhooks. `harvest` serves the Harvest API emulator (v1, v3 and /token) until
Ctrl-C or SIGTERM and prints its addresses, a Site Admin's id and full-permission
credentials. The other commands make one call and print the JSON answer. The key may come
from GREENHOUSE_API_KEY instead of the command line (where `ps` would show it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import ssl
import sys
from collections.abc import Sequence
from typing import Any

import aiohttp

from greenhouse_emulator.emulator import GreenhouseEmulator
from greenhouse_emulator.errors import ContractViolationError, PartnerError
from greenhouse_emulator.harvest import HarvestEmulator, behaviour
from greenhouse_emulator.models import Candidate

COMMANDS = ("serve", "list-tests", "send-test", "test-status", "harvest")


def _common(environ: dict[str, str]) -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    partner = common.add_argument_group("partner")
    partner.add_argument(
        "--partner-url",
        default=environ.get("GREENHOUSE_PARTNER_URL"),
        help="base URL of the partner endpoints, e.g. http://127.0.0.1:8080/v1/greenhouse "
        "(env GREENHOUSE_PARTNER_URL)",
    )
    partner.add_argument(
        "--api-key",
        default=environ.get("GREENHOUSE_API_KEY"),
        help="the organization's partner API key (env GREENHOUSE_API_KEY)",
    )
    for endpoint in ("list_tests", "send_test", "test_status", "response_error"):
        partner.add_argument(
            f"--{endpoint.replace('_', '-')}-path",
            default=endpoint,
            help=f"{endpoint} path under --partner-url, or an absolute URL (default: %(default)s)",
        )
    partner.add_argument("--partner-ca", help="CA bundle to verify the partner's HTTPS with")
    partner.add_argument(
        "--timeout", type=float, default=30.0, help="seconds per call (default: %(default)s)"
    )
    partner.add_argument("-v", "--verbose", action="store_true", help="log every exchange")
    return common


def _server_options(parser: argparse.ArgumentParser, default_port: int) -> None:
    group = parser.add_argument_group("callback server")
    group.add_argument("--host", default="127.0.0.1", help="bind address (default: %(default)s)")
    group.add_argument(
        "--port", type=int, default=default_port, help="0 picks a free one (default: %(default)s)"
    )
    group.add_argument(
        "--callback-host", help="host to put in callback URLs (default: the bind address)"
    )
    group.add_argument("--cert-dir", help="where to write ca.pem (default: a temporary directory)")
    group.add_argument("--no-tls", action="store_true", help="serve plain HTTP")


def build_parser(environ: dict[str, str]) -> argparse.ArgumentParser:
    """The command line; `serve` is the command when none is named."""
    common = _common(environ)
    parser = argparse.ArgumentParser(
        prog="greenhouse-emulator",
        description="Plays Greenhouse against an assessment partner's API.",
        epilog="With no COMMAND, `serve` is run: see `greenhouse-emulator serve --help`.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = commands.add_parser("serve", parents=[common], help="run until Ctrl-C (default)")
    _server_options(serve, 8443)

    commands.add_parser("list-tests", parents=[common], help="call list_tests once")

    send = commands.add_parser("send-test", parents=[common], help="call send_test once")
    _server_options(send, 0)
    send.add_argument("--test-id", required=True, help="partner_test_id")
    defaults = Candidate()
    for name in ("first_name", "last_name", "preferred_name", "email", "phone_number"):
        send.add_argument(f"--{name.replace('_', '-')}", default=getattr(defaults, name))
    send.add_argument("--resume-url", default=defaults.resume_url)
    send.add_argument("--candidate-id", type=int, default=defaults.candidate_id)
    send.add_argument("--application-id", type=int, default=defaults.application_id)
    send.add_argument("--sent-by", help="the sender's email (default: null)")
    send.add_argument("--take-home-test-id", type=int, help="default: the next free one")
    send.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="keep the callback endpoint up until the test is complete, at most this long",
    )

    status = commands.add_parser("test-status", parents=[common], help="call test_status once")
    status.add_argument("--interview-id", required=True, help="partner_interview_id")

    harvest = commands.add_parser(
        "harvest", help="serve a Harvest API emulator (v1, v3 and /token) until Ctrl-C"
    )
    harvest.add_argument("--host", default="127.0.0.1", help="bind address (default: %(default)s)")
    harvest.add_argument(
        "--port", type=int, default=0, help="0 picks a free one (default: %(default)s)"
    )
    harvest.add_argument(
        "--rate-limit",
        type=int,
        default=50,
        help="requests per credential per window (default: %(default)s)",
    )
    harvest.add_argument(
        "--rate-window",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="v1's sliding rate-limit window (default: %(default)s)",
    )
    harvest.add_argument(
        "--v3-rate-window",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="v3's fixed rate-limit window (default: %(default)s)",
    )
    harvest.add_argument(
        "--token-lifetime",
        type=float,
        default=3600.0,
        metavar="SECONDS",
        help="v3 access token lifetime (default: %(default)s)",
    )
    harvest.add_argument(
        "--cert-dir", help="where to write ca.pem (default: a temporary directory)"
    )
    harvest.add_argument("--no-tls", action="store_true", help="serve plain HTTP")
    harvest.add_argument("-v", "--verbose", action="store_true", help="log more")
    behaviour.add_arguments(harvest)
    return parser


def _emulator(args: argparse.Namespace) -> GreenhouseEmulator:
    partner_ssl: ssl.SSLContext | bool = True
    if args.partner_ca:
        partner_ssl = ssl.create_default_context(cafile=args.partner_ca)
    return GreenhouseEmulator(
        args.partner_url,
        args.api_key,
        list_tests_path=args.list_tests_path,
        send_test_path=args.send_test_path,
        test_status_path=args.test_status_path,
        response_error_path=args.response_error_path,
        tls=not getattr(args, "no_tls", False),
        cert_dir=getattr(args, "cert_dir", None),
        callback_host=getattr(args, "callback_host", None),
        partner_ssl=partner_ssl,
        timeout=args.timeout,
    )


def _print(data: Any) -> None:
    print(json.dumps(data, indent=2), flush=True)


async def _serve(args: argparse.Namespace) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    greenhouse = _emulator(args)
    await greenhouse.start(args.host, args.port)
    try:
        # key=value lines on stdout, for scripts that start the emulator and read them.
        print(f"callback_base_url={greenhouse.callback_base_url}", flush=True)
        print(f"ca_cert={greenhouse.ca_cert_path or ''}", flush=True)
        print(f"tests_url={greenhouse.base_url}/_emulator/tests", flush=True)
        print(f"violations_url={greenhouse.base_url}/_emulator/violations", flush=True)
        await stop.wait()
    finally:
        await greenhouse.stop()
    return 0


async def _harvest(args: argparse.Namespace) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    harvest = HarvestEmulator(
        tls=not args.no_tls,
        rate_limit=args.rate_limit,
        rate_window_seconds=args.rate_window,
        v3_rate_window_seconds=args.v3_rate_window,
        token_lifetime_seconds=args.token_lifetime,
        v3_behaviour=behaviour.from_arguments(args),
        cert_dir=args.cert_dir,
    )
    admin = harvest.add_user("Site", "Admin", "site.admin@example.com", site_admin=True)
    application_id = harvest.add_application()
    api_key = harvest.issue_v1_key()
    client_id, client_secret = harvest.issue_v3_client()
    await harvest.start(args.host, args.port)
    try:
        # key=value lines on stdout, for scripts that start the emulator and read them.
        for name, value in (
            ("base_url", harvest.base_url),
            ("token_url", harvest.token_url),
            ("ca_cert", harvest.ca_cert_path or ""),
            ("site_admin_user_id", admin),
            ("application_id", application_id),
            ("v1_api_key", api_key),
            ("v3_client_id", client_id),
            ("v3_client_secret", client_secret),
            ("v3_behaviour", harvest.v3_behaviour.describe()),
        ):
            print(f"{name}={value}", flush=True)
        await stop.wait()
    finally:
        await harvest.stop()
    return 0


async def _one_call(args: argparse.Namespace) -> int:
    greenhouse = _emulator(args)
    await greenhouse.start(getattr(args, "host", "127.0.0.1"), getattr(args, "port", 0))
    try:
        if args.command == "list-tests":
            _print(await greenhouse.list_tests())
        elif args.command == "test-status":
            _print(await greenhouse.test_status(args.interview_id))
        else:
            await _send_test(greenhouse, args)
    finally:
        await greenhouse.stop()
    return 0


async def _send_test(greenhouse: GreenhouseEmulator, args: argparse.Namespace) -> None:
    candidate = Candidate(
        first_name=args.first_name,
        last_name=args.last_name,
        preferred_name=args.preferred_name,
        email=args.email,
        phone_number=args.phone_number,
        resume_url=args.resume_url,
        candidate_id=args.candidate_id,
        application_id=args.application_id,
    )
    take_home_test_id = args.take_home_test_id
    if take_home_test_id is None:
        take_home_test_id = greenhouse.allocate_take_home_test_id()
    await greenhouse.send_test(
        args.test_id, candidate, sent_by=args.sent_by, take_home_test_id=take_home_test_id
    )
    record = greenhouse.tests[take_home_test_id]
    if args.wait > 0:
        print(
            f"waiting up to {args.wait}s for the callback at {record.callback_url}",
            file=sys.stderr,
            flush=True,
        )
        with contextlib.suppress(TimeoutError):
            await greenhouse.wait_until_complete(take_home_test_id, args.wait)
    else:
        print(
            f"note: {record.callback_url} stops answering when this command exits; "
            "use --wait or `serve` to receive the callback",
            file=sys.stderr,
            flush=True,
        )
    _print(
        {
            "take_home_test": record.to_json(),
            "violations": [violation.to_json() for violation in greenhouse.violations],
        }
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `greenhouse-emulator` and `python -m greenhouse_emulator`."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if not arguments or (arguments[0] not in COMMANDS and arguments[0] not in ("-h", "--help")):
        arguments.insert(0, "serve")
    parser = build_parser(dict(os.environ))
    args = parser.parse_args(arguments)
    if args.command == "harvest":
        logging.basicConfig(
            level=logging.INFO if args.verbose else logging.WARNING,
            format="%(asctime)s %(levelname)s %(message)s",
            stream=sys.stderr,
        )
        return asyncio.run(_harvest(args))
    if not args.partner_url or not args.api_key:
        parser.error("--partner-url and --api-key (or GREENHOUSE_API_KEY) are required")
    logging.basicConfig(
        level=logging.INFO if args.verbose or args.command == "serve" else logging.WARNING,
        format="%(asctime)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    runner = _serve if args.command == "serve" else _one_call
    try:
        return asyncio.run(runner(args))
    except (PartnerError, ContractViolationError, aiohttp.ClientError) as error:
        print(f"greenhouse-emulator: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
