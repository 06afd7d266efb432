"""alooba-gh: the operators' command line, speaking the assessments AdminService, the
candidates service's CandidatesService and the OutboxService that every service with an
outbox serves."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import re
import sys
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import grpc

from alooba.assessments.v1 import assessments_pb2_grpc as pb_grpc
from alooba.candidates.v1 import candidates_pb2_grpc as candidates_pb_grpc
from alooba.console.v1 import console_pb2_grpc as console_pb_grpc
from alooba.harvest_sync.v1 import harvest_sync_pb2_grpc as harvest_pb_grpc
from alooba.outbox.v1 import outbox_pb2_grpc as outbox_pb_grpc
from alooba_cli import completion
from alooba_cli.commands import (
    candidates,
    catalog,
    doctor,
    harvest,
    invitations,
    keys,
    org,
    outbox,
    users,
)
from alooba_cli.context import CommandError, Context, NamedStub, ServiceCallError, UsageError
from alooba_cli.output import terminal_safe_output
from alooba_common.config import TlsSettings
from alooba_common.grpc_client import create_channel
from alooba_common.request_context import new_request_id, set_request_id
from alooba_common.tls import CertificateFiles, TlsError

PROG = "alooba-gh"
DEFAULT_ADDR = "localhost:50051"
DEFAULT_CANDIDATES_ADDR = "localhost:50052"
DEFAULT_TIMEOUT_SECONDS = 10.0
# Where `make run` puts the operator's certificate (relative to the repository root).
DEFAULT_TLS_DIR = "var/tls/operator"


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be more than 0")
    return value


def _add_global_options(parser: argparse.ArgumentParser, defaults: Mapping[str, Any]) -> None:
    parser.add_argument(
        "--assessments-addr",
        metavar="HOST:PORT",
        default=defaults.get("assessments_addr", argparse.SUPPRESS),
        help=f"the assessments service (env ASSESSMENTS_ADDR; default {DEFAULT_ADDR})",
    )
    parser.add_argument(
        "--tls-dir",
        metavar="DIR",
        default=defaults.get("tls_dir", argparse.SUPPRESS),
        help="the operator's certificate: tls.crt, tls.key and the CA, ca.crt "
        f"(env TLS_DIR; default {DEFAULT_TLS_DIR}, where make run puts it)",
    )
    parser.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=_seconds,
        default=defaults.get("timeout", argparse.SUPPRESS),
        help=f"deadline for each call (default {DEFAULT_TIMEOUT_SECONDS:g})",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        default=defaults.get("json", argparse.SUPPRESS),
        help="print the response as JSON instead of text",
    )


def _add_candidates_option(parser: argparse.ArgumentParser, default: Any) -> None:
    parser.add_argument(
        "--candidates-addr",
        metavar="HOST:PORT",
        default=default,
        help="the candidates service, for `candidate` commands "
        f"(env CANDIDATES_ADDR; default {DEFAULT_CANDIDATES_ADDR})",
    )


def build_parser(environ: Mapping[str, str]) -> argparse.ArgumentParser:
    """The whole command line. `environ` supplies ASSESSMENTS_ADDR, CANDIDATES_ADDR,
    OUTBOX_ADDR, HARVEST_SYNC_ADDR and TLS_DIR."""
    # The global options are also added to every command, with no defaults there, so
    # `alooba-gh org list --json` works as well as `alooba-gh --json org list` and a
    # command never resets an option given before it.
    common = argparse.ArgumentParser(add_help=False)
    _add_global_options(common, {})
    # --candidates-addr is global too, but only `candidate` commands list it.
    with_candidates = argparse.ArgumentParser(add_help=False, parents=[common])
    _add_candidates_option(with_candidates, argparse.SUPPRESS)

    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Operate the Greenhouse integration: organizations, partner API keys, "
        "the test catalog, invitations, candidates, Harvest, the services' outboxes, the "
        "console's users, and a setup check (`doctor`).",
    )
    _add_global_options(
        parser,
        {
            "assessments_addr": environ.get("ASSESSMENTS_ADDR") or DEFAULT_ADDR,
            "tls_dir": environ.get("TLS_DIR") or DEFAULT_TLS_DIR,
            "timeout": DEFAULT_TIMEOUT_SECONDS,
            "json": False,
        },
    )
    _add_candidates_option(parser, environ.get("CANDIDATES_ADDR") or DEFAULT_CANDIDATES_ADDR)
    parser.add_argument("--version", action="version", version=f"{PROG} {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for group in (org, keys, catalog, invitations):
        group.register(commands, common)
    candidates.register(commands, with_candidates)
    outbox.register(commands, common, environ)
    harvest.register(commands, common, environ)
    doctor.register(commands, common, environ)
    users.register(commands, common, environ)
    shells = commands.add_parser(
        "completion",
        help='print a shell completion script: eval "$(alooba-gh completion bash)"',
        description="Print a bash completion script (commands and options). Add "
        '`eval "$(alooba-gh completion bash)"` to ~/.bashrc.',
    )
    shells.add_argument("shell", choices=completion.SHELLS)
    # Needs no service and no certificate: _main prints it before anything else.
    shells.set_defaults(completion_of=parser)
    return parser


def _version() -> str:
    try:
        return version("alooba-cli")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def service_address(args: argparse.Namespace) -> tuple[str, str]:
    """Which service the command talks to, as an error message names it, and its address.

    Commands with --service-addr (`outbox ...`) talk to whichever service's outbox is
    meant, the assessments service unless told otherwise; all others to assessments
    (`candidate` commands to the candidates service as well: see _run)."""
    if hasattr(args, "service_addr"):
        return "the service", args.service_addr or args.assessments_addr
    return "the assessments service", args.assessments_addr


def operator_certificate(args: argparse.Namespace) -> CertificateFiles:
    """The certificate the CLI calls with (the services allow the operator identity what
    docs/security.md lists); TLS_CA_FILE may name the CA bundle to trust instead."""
    return CertificateFiles(TlsSettings.in_directory(args.tls_dir, os.environ.get("TLS_CA_FILE")))


async def _run(args: argparse.Namespace, request_id: str, tls: CertificateFiles) -> None:
    # The service logs this id with every line about the call: it is what an operator
    # quotes when a call fails with INTERNAL.
    set_request_id(request_id)
    # create_channel gives every call the --timeout deadline and retries UNAVAILABLE
    # (safe: the service's RPCs are idempotent) until that deadline.
    _, address = service_address(args)
    channel = create_channel(address, tls=tls, default_timeout=args.timeout)
    channels = [channel]
    candidates_stub = None
    if getattr(args, "uses_candidates", False):
        candidates_channel = create_channel(
            args.candidates_addr, tls=tls, default_timeout=args.timeout
        )
        channels.append(candidates_channel)
        candidates_stub = NamedStub(
            candidates_pb_grpc.CandidatesServiceStub(candidates_channel),
            "the candidates service",
            args.candidates_addr,
        )
    harvest_stub = None
    if getattr(args, "uses_harvest", False):
        harvest_channel = create_channel(args.harvest_addr, tls=tls, default_timeout=args.timeout)
        channels.append(harvest_channel)
        harvest_stub = NamedStub(
            harvest_pb_grpc.HarvestSyncServiceStub(harvest_channel),
            "the harvest-sync service",
            args.harvest_addr,
        )
    console_stub = None
    if getattr(args, "uses_console", False):
        console_channel = create_channel(args.console_addr, tls=tls, default_timeout=args.timeout)
        channels.append(console_channel)
        console_stub = NamedStub(
            console_pb_grpc.UserServiceStub(console_channel), "the console", args.console_addr
        )
    try:
        context = Context(
            admin=pb_grpc.AdminServiceStub(channel),
            outbox=outbox_pb_grpc.OutboxServiceStub(channel),
            json=args.json,
            candidates=candidates_stub,
            harvest=harvest_stub,
            console=console_stub,
        )
        await args.handler(args, context)
    finally:
        for open_channel in channels:
            await open_channel.close(grace=None)


def describe_rpc_error(
    error: grpc.aio.AioRpcError,
    args: argparse.Namespace,
    request_id: str,
    called: tuple[str, str] | None = None,
) -> str:
    """`STATUS_NAME: details`, said so that an operator knows what to do next. `called`
    is the (service, address) that failed when it is not the command's own."""
    code = error.code()
    details = error.details() or "no details"
    service, address = called or service_address(args)
    if code == grpc.StatusCode.UNAVAILABLE:
        return f"UNAVAILABLE: {service} at {address} could not be reached: {details}"
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return f"DEADLINE_EXCEEDED: {service} at {address} did not answer within {args.timeout:g} s"
    if code == grpc.StatusCode.UNIMPLEMENTED:
        return (
            f"UNIMPLEMENTED: {service} at {address} does not serve this API "
            f"(is it the right address?): {details}"
        )
    if code in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN):
        return f"{code.name}: {details} (request id {request_id})"
    return f"{code.name}: {details}"


def main(argv: list[str] | None = None) -> int:
    """Runs one command and returns the exit status: 0 done, 1 failed, 2 usage error."""
    with terminal_safe_output():
        return _main(argv)


# "NOT_FOUND: no organization named ..." -> NOT_FOUND: the status a message starts with.
_STATUS_PREFIX = re.compile(r"^([A-Z][A-Z_]+): ")


def _report(as_json: bool, code: str, message: str, request_id: str | None = None) -> None:
    """One error on stderr: `alooba-gh: message`, or with --json one JSON object
    {"error": {"code", "message"[, "request_id"]}} that a script can read."""
    if not as_json:
        print(f"{PROG}: {message}", file=sys.stderr)
        return
    if match := _STATUS_PREFIX.match(message):
        code, message = match.group(1), message[match.end() :]
    error: dict[str, str] = {"code": code, "message": message}
    if request_id is not None:
        error["request_id"] = request_id
    print(json.dumps({"error": error}), file=sys.stderr)


def _main(argv: list[str] | None) -> int:
    parser = build_parser(os.environ)
    words = sys.argv[1:] if argv is None else argv
    as_json = "--json" in words
    usage = io.StringIO()
    try:
        # With --json, argparse's own complaint is captured and said as JSON instead.
        with contextlib.redirect_stderr(usage) if as_json else contextlib.nullcontext():
            args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse exits for --help (0) and for usage errors (2)
        status = exit_.code if isinstance(exit_.code, int) else 2
        if as_json and status != 0:
            lines = usage.getvalue().strip().splitlines()
            _report(True, "USAGE", lines[-1].split("error: ", 1)[-1] if lines else "usage error")
        return status

    if (target := getattr(args, "completion_of", None)) is not None:
        print(completion.script(target, args.shell), end="")
        return 0
    try:
        tls = operator_certificate(args)
    except TlsError as error:
        _report(
            args.json,
            "NO_CERTIFICATE",
            f"no usable certificate in {args.tls_dir}: {error} "
            "(give the operator's with --tls-dir or TLS_DIR; make run creates var/tls/operator)",
        )
        return 2
    request_id = new_request_id()
    try:
        asyncio.run(_run(args, request_id, tls))
    except UsageError as error:
        if args.json:
            _report(True, "USAGE", str(error))
        else:
            args.parser.print_usage(sys.stderr)
            print(f"{args.parser.prog}: error: {error}", file=sys.stderr)
        return 2
    except grpc.aio.AioRpcError as error:
        message = describe_rpc_error(error, args, request_id)
        _report(args.json, error.code().name, message, request_id)
        return 1
    except ServiceCallError as failed:
        called = (failed.service, failed.address)
        message = describe_rpc_error(failed.error, args, request_id, called)
        _report(args.json, failed.code().name, message, request_id)
        return 1
    except CommandError as error:
        _report(args.json, "FAILED", str(error))
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
