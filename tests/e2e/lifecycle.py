"""A stack wired to a real SMTP server and the Greenhouse emulator, for lifecycle tests."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from support.processes import cli

from alooba.assessments.v1 import assessments_pb2_grpc as apb_grpc
from alooba.outbox.v1 import outbox_pb2_grpc
from alooba_common.tls import Identity
from alooba_dev.smtp_sink import SmtpSink
from alooba_dev.stack import Stack, free_ports
from greenhouse_emulator.emulator import GreenhouseEmulator

# Fast enough for tests, the same code paths as production.
FAST_RELAY = {
    "OUTBOX_BASE_DELAY_SECONDS": "0.2",
    "OUTBOX_MAX_DELAY_SECONDS": "1",
    "OUTBOX_POLL_INTERVAL_SECONDS": "0.1",
    "OUTBOX_STATS_INTERVAL_SECONDS": "0.2",
    "REPORT_BASE_URL": "https://reports.alooba.test/reports",
    "ASSESSMENT_LINK_BASE_URL": "https://app.alooba.test/take",
}


@dataclass
class Lifecycle:
    stack: Stack
    smtp: SmtpSink
    greenhouse: GreenhouseEmulator
    platform: apb_grpc.PlatformServiceStub
    outbox: outbox_pb2_grpc.OutboxServiceStub
    organization: str
    test_id: str


@asynccontextmanager
async def lifecycle_stack(
    var_dir: Path,
    new_databases: Callable[[], dict[str, str]],
    *,
    assessments_env: dict[str, str] | None = None,
    smtp_running: bool = True,
    test_options: tuple[str, ...] = (),
) -> AsyncIterator[Lifecycle]:
    # Blocking helpers run in threads: the emulator serves callbacks on this event loop.
    databases = await asyncio.to_thread(new_databases)
    stack = Stack(var_dir=var_dir, ports=free_ports(), database_urls=databases)
    smtp = SmtpSink()
    if smtp_running:
        smtp.start()
    # The key is issued once the stack runs; the emulator learns it then.
    greenhouse = GreenhouseEmulator(f"{stack.gateway_url}/v1/greenhouse", "not-issued-yet")
    await greenhouse.start()
    try:
        assert greenhouse.ca_cert_path is not None
        stack.service_env = {
            "assessments": {
                **FAST_RELAY,
                "SMTP_URL": smtp.url,
                "CALLBACK_HOST_ALLOWLIST": f"127.0.0.1:{greenhouse.port}",
                "CALLBACK_CA_FILE": str(greenhouse.ca_cert_path),
                **(assessments_env or {}),
            },
            # Its outbox carries erasures' requests to cancel invitations.
            "candidates": {k: v for k, v in FAST_RELAY.items() if k.startswith("OUTBOX_")},
        }
        stack.start_all()
        await asyncio.to_thread(stack.wait_ready, timeout=60)
        organization = f"Lifecycle {uuid.uuid4().hex[:8]}"
        await asyncio.to_thread(cli, stack, "org", "create", organization)
        issued = await asyncio.to_thread(cli, stack, "key", "issue", "--org", organization)
        greenhouse.api_key = issued["secret"]
        test = await asyncio.to_thread(
            cli,
            stack,
            "test",
            "create",
            "--org",
            organization,
            "--name",
            "Data Analyst",
            "--skill",
            "SQL",
            "--skill",
            "Python",
            *test_options,
        )
        async with (
            stack.channel("assessments", Identity.PLATFORM) as platform,
            stack.channel("assessments", Identity.OPERATOR) as operator,
        ):
            yield Lifecycle(
                stack=stack,
                smtp=smtp,
                greenhouse=greenhouse,
                platform=apb_grpc.PlatformServiceStub(platform),
                outbox=outbox_pb2_grpc.OutboxServiceStub(operator),
                organization=organization,
                test_id=test.get("test", test)["id"],
            )
    finally:
        await asyncio.to_thread(stack.stop_all)
        await greenhouse.stop()
        smtp.stop()


def callbacks_for(greenhouse: GreenhouseEmulator, take_home_test_id: int) -> list[Any]:
    return [c for c in greenhouse.callbacks if c.take_home_test_id == take_home_test_id]
