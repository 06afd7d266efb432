"""Reflection, when it is on, answers under v1 (current grpcurl asks it first) and v1alpha,
to operators only."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import grpc
import pytest
from google.protobuf import descriptor_pb2
from grpc_reflection.v1alpha import reflection_pb2 as rpb
from prometheus_client import CollectorRegistry
from support.inprocess import server_settings, serving
from support.tls import channel

import candidates.config
import candidates.server
from alooba_common.config import DatabaseSettings, LoggingSettings
from alooba_common.outbox_metrics import OutboxMetrics
from alooba_common.tls import Identity

VERSIONS = ("grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection")


@pytest.fixture
async def address(shared_databases: dict[str, str]) -> AsyncIterator[str]:
    settings = dataclasses.replace(server_settings(Identity.CANDIDATES), reflection=True)
    service = candidates.server.build_service(
        candidates.config.Settings(
            server=settings,
            database=DatabaseSettings(url=shared_databases["candidates"]),
            logging=LoggingSettings(level="info", format="json"),
            relay_enabled=False,
        ),
        outbox_metrics=OutboxMetrics.create(CollectorRegistry()),
    )
    async with serving(service, settings) as served:
        yield served


async def _ask(
    address: str, version: str, identity: Identity, request: rpb.ServerReflectionRequest
) -> rpb.ServerReflectionResponse:
    async with channel(address, identity) as chan:
        call = chan.stream_stream(
            f"/{version}/ServerReflectionInfo",
            request_serializer=rpb.ServerReflectionRequest.SerializeToString,
            response_deserializer=rpb.ServerReflectionResponse.FromString,
        )
        responses = [r async for r in call(iter([request]))]
    [response] = responses
    return response


@pytest.mark.parametrize("version", VERSIONS)
async def test_both_versions_list_the_services_and_describe_them(
    address: str, version: str
) -> None:
    listed = await _ask(
        address, version, Identity.OPERATOR, rpb.ServerReflectionRequest(list_services="*")
    )
    names = {s.name for s in listed.list_services_response.service}
    assert {"alooba.candidates.v1.CandidatesService", *VERSIONS} <= names

    described = await _ask(
        address,
        version,
        Identity.OPERATOR,
        rpb.ServerReflectionRequest(file_containing_symbol=VERSIONS[0]),
    )
    [first, *_] = described.file_descriptor_response.file_descriptor_proto
    proto = descriptor_pb2.FileDescriptorProto.FromString(first)
    assert proto.package == "grpc.reflection.v1"
    [service] = proto.service
    assert service.method[0].input_type == ".grpc.reflection.v1.ServerReflectionRequest"


@pytest.mark.parametrize("version", VERSIONS)
async def test_only_operators_may_ask(address: str, version: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await _ask(
            address, version, Identity.GATEWAY, rpb.ServerReflectionRequest(list_services="*")
        )
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
