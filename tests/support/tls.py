"""Certificates and channels for the tests, made the way `make run` makes them: one
development CA (alooba_dev.pki) for the whole test run, and every call made over mutual TLS
as an identity the called service's access table allows."""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path
from typing import Any

import grpc

from alooba_common.authz import AccessTable
from alooba_common.config import TlsSettings
from alooba_common.grpc_client import create_channel
from alooba_common.tls import CertificateFiles, Identity
from alooba_dev.pki import DevPki, ensure_dev_pki


@functools.cache
def dev_pki() -> DevPki:
    """The test run's CA and certificates (made on first use, in a temporary folder)."""
    return ensure_dev_pki(Path(tempfile.mkdtemp(prefix="alooba-test-pki-")))


def tls_settings(identity: Identity) -> TlsSettings:
    return dev_pki().settings(identity)


def tls_dir(identity: Identity) -> str:
    """What to give a process (TLS_DIR) or alooba-gh (--tls-dir) to be `identity`."""
    return str(dev_pki().folder(identity))


def certificate(identity: Identity) -> CertificateFiles:
    return CertificateFiles(tls_settings(identity), expected=identity)


def channel(address: str, identity: Identity, *, timeout: float = 10.0) -> grpc.aio.Channel:
    """A channel to the service at `address`, calling as `identity`."""
    return create_channel(address, tls=certificate(identity), default_timeout=timeout)


class Channels:
    """One channel per (address, identity), made when first asked for; close() closes all."""

    def __init__(self) -> None:
        self._open: dict[tuple[str, Identity], grpc.aio.Channel] = {}

    def get(self, address: str, identity: Identity) -> grpc.aio.Channel:
        key = (address, identity)
        if key not in self._open:
            self._open[key] = channel(address, identity)
        return self._open[key]

    async def close(self) -> None:
        for opened in self._open.values():
            await opened.close(None)
        self._open.clear()


class AsAllowedCaller:
    """A service's stub whose every call is made as an identity its access table allows for
    that RPC (the first in Identity's order), as the real caller would make it: tests of a
    service's behaviour need not know who calls what. Refusals are tested on their own."""

    def __init__(
        self,
        stub_class: Any,
        service: str,
        address: str,
        access: AccessTable,
        channels: Channels,
    ) -> None:
        self._stub_class = stub_class
        self._service = service
        self._address = address
        self._access = access
        self._channels = channels

    def caller(self, rpc: str) -> Identity:
        allowed = self._access.allowed(f"/{self._service}/{rpc}")
        # The console calls only for a person, with metadata these stubs do not send: it is
        # tested through the console's own stubs.
        unscoped = allowed - {Identity.CONSOLE}
        if not unscoped:
            raise AssertionError(f"no identity may call {self._service}/{rpc} unscoped")
        return min(unscoped, key=list(Identity).index)

    def __getattr__(self, rpc: str) -> Any:
        stub = self._stub_class(self._channels.get(self._address, self.caller(rpc)))
        return getattr(stub, rpc)
