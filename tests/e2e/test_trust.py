"""Trust inside the system, on the real processes: every gRPC method each service serves
(as the service itself lists them, through reflection) refuses a plaintext call, a call
with a certificate from another CA, and a call from an identity its access table does not
name; the identities it names get through; health answers without a certificate only on
the health port."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor_pool, message_factory
from google.protobuf.descriptor import MethodDescriptor
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)
from support.processes import metric_value

import assessments.api.access
import candidates.api.access
import console.api.access
import harvest_sync.api.access
from alooba_common.acting import OWNER, ActingUser, acting_metadata
from alooba_common.authz import HEALTH_SERVICE, AccessTable
from alooba_common.tls import CertificateFiles, Identity, channel_credentials
from alooba_dev.pki import ensure_dev_pki
from alooba_dev.stack import WITH_CONSOLE, Stack, free_ports

pytestmark = pytest.mark.e2e

TABLES: dict[str, AccessTable] = {
    "assessments": assessments.api.access.ACCESS,
    "candidates": candidates.api.access.ACCESS,
    "harvest-sync": harvest_sync.api.access.ACCESS,
    "console": console.api.access.ACCESS,
}
REFUSED_AT_HANDSHAKE = grpc.StatusCode.UNAVAILABLE
# The console calls only on behalf of a signed-in person, and says so (alooba_common.acting).
AS_A_PERSON = acting_metadata(ActingUser(user_id="u1", organization_id="o" * 32, role=OWNER))


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory, new_databases: Callable[[], dict[str, str]]
) -> Iterator[Stack]:
    """Every gRPC service as a real process, the console included."""
    started = Stack(
        var_dir=tmp_path_factory.mktemp("stack"),
        ports=free_ports(),
        database_urls=new_databases(),
        services=WITH_CONSOLE,
    )
    started.start_ready(timeout=60)
    yield started
    exit_codes = started.stop_all()
    assert exit_codes == dict.fromkeys(exit_codes, 0), exit_codes


@dataclass(frozen=True)
class Method:
    service: str  # the process: assessments, candidates, harvest-sync
    descriptor: MethodDescriptor
    request: Any  # an empty request message

    @property
    def path(self) -> str:
        return f"/{self.descriptor.containing_service.full_name}/{self.descriptor.name}"

    def __str__(self) -> str:
        return f"{self.service} {self.path}"


def served_methods(stack: Stack, service: str) -> list[Method]:
    """Every method `service` serves but health, from its own reflection (asked as an
    operator): the descriptors come from the server, not from this test's protos."""
    with _channel(stack, service, _credentials(stack, Identity.OPERATOR)) as channel:
        database = ProtoReflectionDescriptorDatabase(channel)
        pool = descriptor_pool.DescriptorPool(database)
        methods = []
        for name in database.get_services():
            if name == HEALTH_SERVICE:
                continue
            for method in pool.FindServiceByName(name).methods:
                request = message_factory.GetMessageClass(method.input_type)()
                methods.append(Method(service, method, request))
    return methods


@pytest.fixture(scope="module")
def methods(stack: Stack) -> list[Method]:
    found = [method for service in TABLES for method in served_methods(stack, service)]
    # Each service serves exactly what its table rules on (a method served but missing
    # from the table would be refused to everyone, and found here).
    for service, table in TABLES.items():
        assert {m.path for m in found if m.service == service} == set(table.rules)
    return found


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA of its own with the same identities (its "operator" could call anything)."""
    return ensure_dev_pki(tmp_path_factory.mktemp("other-ca")).directory


def test_every_method_refuses_a_plaintext_call(stack: Stack, methods: list[Method]) -> None:
    outcomes = {str(m): _call(stack, m, None) for m in methods}

    assert outcomes == dict.fromkeys(outcomes, REFUSED_AT_HANDSHAKE)


def test_every_method_refuses_a_certificate_from_another_ca(
    stack: Stack, methods: list[Method], other_ca: Path
) -> None:
    # The client trusts our CA (so it would talk to the server); its own certificate is
    # the other CA's "operator".
    foreign = CertificateFiles(ensure_dev_pki(other_ca).settings(Identity.OPERATOR)).latest()
    ours = _material(stack, Identity.OPERATOR)
    credentials = grpc.ssl_channel_credentials(
        root_certificates=ours.ca_pem,
        private_key=foreign.key_pem,
        certificate_chain=foreign.certificate_pem,
    )

    outcomes = {str(m): _call(stack, m, credentials) for m in methods}

    assert outcomes == dict.fromkeys(outcomes, REFUSED_AT_HANDSHAKE)


def test_every_method_denies_every_identity_its_table_does_not_name(
    stack: Stack, methods: list[Method]
) -> None:
    outcomes = _as_each_identity(stack, methods, allowed=False)

    assert len(outcomes) > len(methods)
    assert outcomes == dict.fromkeys(outcomes, grpc.StatusCode.PERMISSION_DENIED)


def test_every_method_lets_the_identities_its_table_names_through(
    stack: Stack, methods: list[Method]
) -> None:
    # Empty requests: most are INVALID_ARGUMENT or NOT_FOUND, which is the service
    # answering; being refused would be UNAVAILABLE or PERMISSION_DENIED.
    outcomes = _as_each_identity(stack, methods, allowed=True)

    refused = {
        call: code
        for call, code in outcomes.items()
        if code in (grpc.StatusCode.PERMISSION_DENIED, REFUSED_AT_HANDSHAKE)
    }
    assert outcomes
    assert refused == {}


def test_denials_are_counted_by_service_method_and_caller(stack: Stack) -> None:
    method = "ListOrganizations"
    labels = {
        "service": "alooba.assessments.v1.AdminService",
        "method": method,
        "caller": "gateway",
    }
    before = metric_value(stack, "assessments", "grpc_server_authz_denied_total", labels)
    admin = next(
        m
        for m in served_methods(stack, "assessments")
        if m.path == f"/alooba.assessments.v1.AdminService/{method}"
    )

    outcome = _call(stack, admin, _credentials(stack, Identity.GATEWAY))

    assert outcome == grpc.StatusCode.PERMISSION_DENIED
    after = metric_value(stack, "assessments", "grpc_server_authz_denied_total", labels)
    assert after == before + 1


@pytest.mark.parametrize(
    ("tls_dir", "message"),
    [
        ("", "TLS_DIR must be set"),
        ("operator", "is the certificate of spiffe://alooba/operator, not of"),
        ("nowhere", "cannot read the private key"),
    ],
)
def test_a_service_without_its_own_certificate_does_not_start(
    stack: Stack, tls_dir: str, message: str
) -> None:
    env = stack.env("candidates")
    env["TLS_DIR"] = str(stack.pki.directory / tls_dir) if tls_dir else ""
    env["GRPC_PORT"] = env["HEALTH_PORT"] = env["METRICS_PORT"] = "0"

    started = subprocess.run(
        [stack.python, "-m", "candidates"], env=env, capture_output=True, text=True, timeout=60
    )

    assert started.returncode == 2
    assert started.stderr.startswith("candidates: configuration error: ")
    assert message in started.stderr


@pytest.mark.parametrize("service", list(TABLES))
def test_health_answers_probes_without_a_certificate_on_the_health_port_only(
    stack: Stack, service: str
) -> None:
    request = health_pb2.HealthCheckRequest(service="liveness")
    with grpc.insecure_channel(stack.health_address(service)) as channel:
        probed = health_pb2_grpc.HealthStub(channel).Check(request, timeout=5)
    with _channel(stack, service, None) as channel, pytest.raises(grpc.RpcError) as plaintext:
        health_pb2_grpc.HealthStub(channel).Check(request, timeout=5)
    with _channel(stack, service, _credentials(stack, Identity.PLATFORM)) as channel:
        with_certificate = health_pb2_grpc.HealthStub(channel).Check(request, timeout=5)

    assert probed.status == health_pb2.HealthCheckResponse.SERVING
    assert plaintext.value.code() == REFUSED_AT_HANDSHAKE
    assert with_certificate.status == health_pb2.HealthCheckResponse.SERVING


# --- helpers -------------------------------------------------------------------------


def _as_each_identity(
    stack: Stack, methods: list[Method], *, allowed: bool
) -> dict[str, grpc.StatusCode]:
    """Each method called as each identity its table allows (or as each it does not); as
    the console, on behalf of a person, as the console always calls."""
    return {
        f"{m} as {identity}": _call(
            stack,
            m,
            _credentials(stack, identity),
            metadata=AS_A_PERSON if identity is Identity.CONSOLE else (),
        )
        for m in methods
        for identity in Identity
        if (identity in TABLES[m.service].allowed(m.path)) == allowed
    }


def _material(stack: Stack, identity: Identity) -> Any:
    return stack.certificate(identity).latest()


def _credentials(stack: Stack, identity: Identity) -> grpc.ChannelCredentials:
    return channel_credentials(_material(stack, identity))


@contextlib.contextmanager
def _channel(
    stack: Stack, service: str, credentials: grpc.ChannelCredentials | None
) -> Iterator[grpc.Channel]:
    """A plain (synchronous) grpc channel to the service: mutual TLS with `credentials`,
    or plaintext when None; no retries, no waiting for the connection."""
    address = stack.address(service)
    channel = (
        grpc.insecure_channel(address)
        if credentials is None
        else grpc.secure_channel(address, credentials)
    )
    try:
        yield channel
    finally:
        channel.close()


def _call(
    stack: Stack,
    method: Method,
    credentials: grpc.ChannelCredentials | None,
    *,
    metadata: tuple[tuple[str, str], ...] = (),
) -> grpc.StatusCode:
    """The status `method` answers an empty request with, called over its own channel."""
    with _channel(stack, method.service, credentials) as channel:
        descriptor = method.descriptor
        kind = (
            ("stream" if descriptor.client_streaming else "unary")
            + "_"
            + ("stream" if descriptor.server_streaming else "unary")
        )
        callable_ = getattr(channel, kind)(
            method.path,
            request_serializer=lambda message: message.SerializeToString(),
            response_deserializer=lambda data: data,
        )
        request: Any = iter([method.request]) if descriptor.client_streaming else method.request
        try:
            response = callable_(request, timeout=10, metadata=metadata)
            if descriptor.server_streaming:
                _drain(response)
        except grpc.RpcError as error:
            return error.code()  # type: ignore[attr-defined,no-any-return]
    return grpc.StatusCode.OK


def _drain(responses: Iterator[Any]) -> None:
    for _ in responses:
        pass
