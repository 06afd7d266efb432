"""Shutdown and health on the real processes: SIGTERM drains in-flight work and exits 0;
readiness follows the database while liveness does not."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections.abc import Callable

import aiohttp
import pytest
from support.greenhouse import send_test_body
from support.inprocess import basic_auth
from support.locks import table_locked
from support.processes import cli, metric_value, wait_until

from alooba_dev.stack import Stack, grpc_health_status, grpc_serving

pytestmark = pytest.mark.e2e

IN_FLIGHT = 12


def _organization(stack: Stack) -> tuple[str, str]:
    name = f"Lifecycle {uuid.uuid4().hex[:8]}"
    cli(stack, "org", "create", name)
    key = cli(stack, "key", "issue", "--org", name)["secret"]
    test = cli(stack, "test", "create", "--org", name, "--name", "Python")
    return key, test.get("test", test)["id"]


def _rpcs_started(stack: Stack, service: str, method: str) -> Callable[[], float]:
    return lambda: metric_value(
        stack, service, "grpc_server_started_total", {"grpc_method": method}
    )


# (service to stop, database + table to hold so requests wait inside the service,
#  the service and RPC whose start proves the requests are in flight)
CASES = [
    ("gateway", "assessments", "invitation", "assessments", "SendTest"),
    ("assessments", "assessments", "invitation", "assessments", "SendTest"),
    ("candidates", "candidates", "candidate", "candidates", "RegisterApplication"),
]


@pytest.mark.parametrize(("stopped", "database", "table", "watched", "rpc"), CASES)
async def test_sigterm_lets_in_flight_requests_finish_and_exits_zero(
    own_stack: Stack, stopped: str, database: str, table: str, watched: str, rpc: str
) -> None:
    stack = own_stack
    key, test_id = _organization(stack)
    started_before = _rpcs_started(stack, watched, rpc)()
    async with aiohttp.ClientSession(headers=basic_auth(key)) as http:

        async def send(index: int) -> int:
            body = send_test_body(test_id, take_home_test_id=10_000_000 + index)
            async with http.post(f"{stack.gateway_url}/v1/greenhouse/send_test", json=body) as r:
                await r.read()
                return r.status

        async with table_locked(stack.database_url(database), table):
            requests = [asyncio.create_task(send(i)) for i in range(IN_FLIGHT)]
            # Every request is now waiting inside the service on the lock we hold.
            await asyncio.to_thread(
                wait_until,
                lambda: _rpcs_started(stack, watched, rpc)() >= started_before + IN_FLIGHT,
                20.0,
                f"{IN_FLIGHT} {rpc} calls in flight",
            )
            stack.processes[stopped].send_signal(signal.SIGTERM)
            await asyncio.sleep(0.5)  # the service is draining while the lock is held
            assert stack.processes[stopped].poll() is None, "exited before in-flight work ended"
        statuses = await asyncio.gather(*requests)
        started = time.monotonic()
        exit_code = await asyncio.to_thread(stack.processes[stopped].wait, 25)
    assert statuses == [200] * IN_FLIGHT
    assert exit_code == 0
    assert time.monotonic() - started < 20  # well within SHUTDOWN_GRACE_SECONDS


async def test_harvest_sync_exits_zero_on_sigterm_while_the_others_serve(own_stack: Stack) -> None:
    stack = own_stack
    key, test_id = _organization(stack)
    stack.processes["harvest-sync"].send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(stack.processes["harvest-sync"].wait, 25) == 0
    async with (
        aiohttp.ClientSession(headers=basic_auth(key)) as http,
        http.post(
            f"{stack.gateway_url}/v1/greenhouse/send_test", json=send_test_body(test_id)
        ) as r,
    ):
        assert r.status == 200


def test_readiness_follows_the_database_and_liveness_does_not(
    tmp_path: object, new_databases: Callable[[], dict[str, str]], database_server: object
) -> None:
    from pathlib import Path

    from sqlalchemy.engine import make_url
    from support.databases import DatabaseServer
    from support.tcpproxy import TcpProxy

    from alooba_dev.stack import free_ports

    assert isinstance(database_server, DatabaseServer)
    if not database_server.is_postgres:
        pytest.skip("cutting the network to the database needs a PostgreSQL server")
    urls = new_databases()
    target = make_url(urls["candidates"])
    proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432)
    proxy.open()
    proxied = target.set(host="127.0.0.1", port=proxy.port).render_as_string(False)
    stack = Stack(
        var_dir=Path(str(tmp_path)),
        ports=free_ports(),
        database_urls={**urls, "candidates": proxied},
        service_env={"candidates": {"HEALTH_CHECK_INTERVAL_SECONDS": "0.2"}},
    )
    stack.start("candidates")
    try:
        stack.wait_ready(("candidates",), timeout=30)
        address = stack.health_address("candidates")
        assert grpc_serving(address, "alooba.candidates.v1.CandidatesService")

        proxy.cut()
        wait_until(lambda: not grpc_serving(address), 15, "readiness NOT_SERVING")
        assert not grpc_serving(address, "alooba.candidates.v1.CandidatesService")
        assert grpc_serving(address, "liveness")

        proxy.open()
        wait_until(lambda: grpc_serving(address), 30, "readiness SERVING again")
    finally:
        assert stack.stop("candidates") == 0
        proxy.close()


def test_readiness_turns_not_serving_as_soon_as_sigterm_arrives(
    make_stack: Callable[..., Stack],
) -> None:
    # A drain period keeps the server answering health checks after SIGTERM, which is
    # when Kubernetes must see NOT_SERVING and stop routing to the pod.
    stack = make_stack(service_env={"assessments": {"DRAIN_SECONDS": "3"}})
    address = stack.health_address("assessments")
    assert grpc_health_status(address) == "SERVING"
    stack.processes["assessments"].send_signal(signal.SIGTERM)
    wait_until(lambda: grpc_health_status(address) == "NOT_SERVING", 2.5, "NOT_SERVING")
    assert grpc_health_status(address, "liveness") == "SERVING"
    assert stack.processes["assessments"].wait(25) == 0
