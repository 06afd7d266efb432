"""What every command handler is given, and the errors it may raise on purpose."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import grpc

from alooba.assessments.v1 import assessments_pb2 as pb


class CommandError(Exception):
    """An expected failure: printed as one `alooba-gh: ...` line, exit status 1."""


class UsageError(Exception):
    """The arguments parse but do not make sense together: exit status 2, like argparse."""


class ServiceCallError(Exception):
    """A call to a service other than the one the command talks to first failed (the
    candidates service, for `candidate` commands): reported like any failed call, but
    naming that service and its address."""

    def __init__(self, error: grpc.aio.AioRpcError, service: str, address: str) -> None:
        super().__init__(f"{service} at {address}: {error.code().name}")
        self.error = error
        self.service = service
        self.address = address

    def code(self) -> grpc.StatusCode:
        return self.error.code()


class NamedStub:
    """A generated stub whose failed calls raise ServiceCallError naming the service."""

    def __init__(self, stub: Any, service: str, address: str) -> None:
        self._stub = stub
        self.service = service
        self.address = address

    def __getattr__(self, rpc: str) -> Callable[..., Awaitable[Any]]:
        method = getattr(self._stub, rpc)

        async def call(request: Any, **options: Any) -> Any:
            try:
                return await method(request, **options)
            except grpc.aio.AioRpcError as error:
                raise ServiceCallError(error, self.service, self.address) from None

        return call


@dataclass(frozen=True, slots=True)
class Context:
    """Stubs on the channel to the service the command talks to (whose calls all carry
    the --timeout deadline), and how the user wants results printed.

    A command talks to the assessments service (`admin`), or for `outbox` commands to
    whichever service --service-addr names (`outbox`). `candidate` commands also talk
    to the candidates service (`candidates`, None for every other command)."""

    admin: Any  # AdminServiceStub on a grpc.aio channel; the generated stub is untyped here
    outbox: Any  # OutboxServiceStub on the same channel
    json: bool
    # CandidatesServiceStub on its own channel, as a NamedStub.
    candidates: NamedStub | None = None
    # HarvestSyncServiceStub (`harvest` commands) on its own channel, as a NamedStub.
    harvest: NamedStub | None = None
    # The console's UserService (`user` commands) on its own channel. Any: a NamedStub,
    # and None for every other command.
    console: Any = None

    async def organization_id(self, args: argparse.Namespace) -> str:
        """The id of the organization chosen with --org NAME or --org-id ID."""
        if args.org_id:
            return str(args.org_id)
        return str((await self.organization_by_name(args.org)).id)

    async def organization_by_name(self, name: str) -> Any:
        """The organization named exactly `name`; NOT_FOUND names what was looked for,
        which the service's own message cannot."""
        try:
            response = await self.admin.GetOrganization(pb.GetOrganizationRequest(name=name))
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                raise CommandError(f"NOT_FOUND: no organization named {name!r}") from None
            raise
        return response.organization


Handler = Callable[[argparse.Namespace, Context], Awaitable[None]]


def add_organization_options(parser: argparse.ArgumentParser) -> None:
    """--org NAME or --org-id ID, exactly one of them."""
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--org", metavar="NAME", help="the organization's exact name")
    group.add_argument("--org-id", metavar="ID", help="the organization's id")
