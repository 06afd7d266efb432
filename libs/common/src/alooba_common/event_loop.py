"""The event loop every process runs on."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import uvloop

ResultT = TypeVar("ResultT")


def run_event_loop(main: Coroutine[Any, Any, ResultT]) -> ResultT:
    """Runs a process's main coroutine to completion on uvloop (libuv), which aiohttp and
    grpc.aio both support: its loop and transports cost less CPU per request than
    asyncio's own, and nothing else changes (`asyncio.run` semantics)."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)
