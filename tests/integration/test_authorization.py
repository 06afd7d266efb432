"""Authorization by caller identity and certificate renewal, on in-process servers: a
refused call is logged with its caller and method, never its request, and counted with
bounded labels; certificates renewed on disk are taken up by servers and clients without a
restart and without failing a call."""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import structlog
from prometheus_client import CollectorRegistry
from support.inprocess import server_settings, serving
from support.tls import certificate, channel, dev_pki

import candidates.config
import candidates.server
from alooba.candidates.v1 import candidates_pb2 as pb
from alooba.candidates.v1 import candidates_pb2_grpc as pb_grpc
from alooba_common.config import DatabaseSettings, LoggingSettings, TlsSettings
from alooba_common.grpc_client import create_channel
from alooba_common.grpc_metrics import GrpcServerMetrics
from alooba_common.outbox_metrics import OutboxMetrics
from alooba_common.tls import CertificateFiles, Identity, server_credentials
from alooba_dev.pki import DevPki, ensure_dev_pki, write_certificate

CANDIDATES = "alooba.candidates.v1.CandidatesService"
SECRET_NAME = "Hermione"
SECRET_EMAIL = "hermione.granger@hogwarts.edu"


def _build(databases: dict[str, str]) -> Any:
    return candidates.server.build_service(
        candidates.config.Settings(
            server=server_settings(Identity.CANDIDATES),
            database=DatabaseSettings(url=databases["candidates"]),
            logging=LoggingSettings(level="info", format="json"),
            # No assessments here to tell of an erasure.
            relay_enabled=False,
        ),
        outbox_metrics=OutboxMetrics.create(CollectorRegistry()),
    )


@pytest.fixture
async def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
async def candidates_addr(
    shared_databases: dict[str, str], registry: CollectorRegistry
) -> AsyncIterator[str]:
    async with serving(
        _build(shared_databases), metrics=GrpcServerMetrics.create(registry)
    ) as address:
        yield address


def _register_request() -> pb.RegisterApplicationRequest:
    return pb.RegisterApplicationRequest(
        organization_id="authz-org",
        greenhouse_candidate_id=1,
        greenhouse_application_id=2,
        contact=pb.ContactDetails(first_name=SECRET_NAME, last_name="Granger", email=SECRET_EMAIL),
    )


def _denied(registry: CollectorRegistry, method: str, caller: str) -> float | None:
    return registry.get_sample_value(
        "grpc_server_authz_denied_total",
        {"service": CANDIDATES, "method": method, "caller": caller},
    )


async def test_a_refused_call_is_logged_with_caller_and_method_never_the_request(
    candidates_addr: str, registry: CollectorRegistry
) -> None:
    with structlog.testing.capture_logs() as logs:
        async with channel(candidates_addr, Identity.GATEWAY) as gateway:
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await pb_grpc.CandidatesServiceStub(gateway).RegisterApplication(
                    _register_request()
                )

    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert refused.value.details() == f"gateway may not call {CANDIDATES}/RegisterApplication"
    denials = [line for line in logs if line["event"] == "rpc.denied"]
    assert denials == [
        {
            "event": "rpc.denied",
            "log_level": "warning",
            "caller": "spiffe://alooba/gateway",
            "grpc_service": CANDIDATES,
            "grpc_method": "RegisterApplication",
        }
    ]
    assert SECRET_NAME not in repr(logs)
    assert SECRET_EMAIL not in repr(logs)
    assert _denied(registry, "RegisterApplication", "gateway") == 1


async def test_a_certificate_of_our_ca_for_a_name_we_do_not_know_is_refused_everything(
    candidates_addr: str, registry: CollectorRegistry, tmp_path: Path
) -> None:
    folder = tmp_path / "intruder"
    write_certificate(dev_pki(), folder, "spiffe://alooba/intruder", [])
    intruder = CertificateFiles(TlsSettings.in_directory(folder))

    with structlog.testing.capture_logs() as logs:
        async with create_channel(candidates_addr, tls=intruder) as opened:
            stub = pb_grpc.CandidatesServiceStub(opened)
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await stub.GetCandidate(pb.GetCandidateRequest(organization_id="o"))

    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert [line["caller"] for line in logs if line["event"] == "rpc.denied"] == [
        "spiffe://alooba/intruder"
    ]
    # Metric labels stay bounded: callers outside the identities are one value.
    assert _denied(registry, "GetCandidate", "unknown") == 1


async def test_the_server_takes_up_a_new_certificate_and_ca_without_a_restart(
    shared_databases: dict[str, str], tmp_path: Path
) -> None:
    folder = tmp_path / "candidates"
    shutil.copytree(dev_pki().folder(Identity.CANDIDATES), folder)
    settings = dataclasses.replace(
        server_settings(Identity.CANDIDATES), tls=TlsSettings.in_directory(folder)
    )
    new_ca = ensure_dev_pki(tmp_path / "new-ca")
    # Well-formed ids of nobody: the service answers NOT_FOUND once it lets the caller in.
    request = pb.GetCandidateRequest(organization_id="0" * 32, candidate_id="f" * 32)

    async with (
        serving(_build(shared_databases), settings=settings) as address,
        channel(address, Identity.OPERATOR) as before,
    ):
        await _not_found(before, request)
        _replace(folder, new_ca, Identity.CANDIDATES)

        # The connection made before the change carries on; a new one gets the new
        # certificate and CA: the old CA's callers are refused, the new CA's served.
        await _not_found(before, request)
        async with _channel_from(new_ca, address) as renewed:
            await _not_found(renewed, request)
        async with channel(address, Identity.OPERATOR) as old_ca:
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await pb_grpc.CandidatesServiceStub(old_ca).GetCandidate(request)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_a_client_presents_its_renewed_certificate_from_the_next_call(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "operator"
    shutil.copytree(dev_pki().folder(Identity.OPERATOR), folder)
    files = CertificateFiles(TlsSettings.in_directory(folder), expected=Identity.OPERATOR)
    first = files.latest().certificate_pem

    async with (
        _peer_certificate_echo() as address,
        create_channel(address, tls=files, renewal_check_seconds=0) as opened,
    ):
        echo = opened.unary_unary("/test.Echo/PeerCertificate")
        seen_before = await echo(b"")
        write_certificate(dev_pki(), folder, Identity.OPERATOR.spiffe_id, [])
        seen_after = await echo(b"")

    renewed = (folder / "tls.crt").read_bytes()
    assert seen_before == first
    assert seen_after == renewed != first


# --- helpers -------------------------------------------------------------------------


async def _not_found(opened: grpc.aio.Channel, request: pb.GetCandidateRequest) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as answered:
        await pb_grpc.CandidatesServiceStub(opened).GetCandidate(request)
    assert answered.value.code() == grpc.StatusCode.NOT_FOUND


def _replace(folder: Path, pki: DevPki, identity: Identity) -> None:
    for name in ("tls.key", "tls.crt", "ca.crt"):
        shutil.copy(pki.folder(identity) / name, folder / name)


def _channel_from(pki: DevPki, address: str) -> grpc.aio.Channel:
    return create_channel(
        address,
        tls=CertificateFiles(pki.settings(Identity.OPERATOR), expected=Identity.OPERATOR),
    )


@contextlib.asynccontextmanager
async def _peer_certificate_echo() -> AsyncIterator[str]:
    """A bare mutual-TLS server whose one method answers the certificate the caller
    presented; yields its address."""

    async def peer_certificate(request: bytes, context: Any) -> bytes:
        return bytes(context.auth_context()["x509_pem_cert"][0])

    server = grpc.aio.server()
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(
                "test.Echo",
                {"PeerCertificate": grpc.unary_unary_rpc_method_handler(peer_certificate)},
            ),
        )
    )
    port = server.add_secure_port(
        "127.0.0.1:0", server_credentials(certificate(Identity.CANDIDATES))
    )
    await server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await server.stop(None)
