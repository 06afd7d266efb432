from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from alooba_dev.stack import Stack, free_ports


def _start(var_dir: Path, databases: dict[str, str], **options: Any) -> Stack:
    stack = Stack(var_dir=var_dir, ports=free_ports(), database_urls=databases, **options)
    stack.start_ready(timeout=60)
    return stack


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory, new_databases: Callable[[], dict[str, str]]
) -> Iterator[Stack]:
    """The four real service processes on fresh databases, shared by a test module."""
    started = _start(tmp_path_factory.mktemp("stack"), new_databases())
    yield started
    exit_codes = started.stop_all()
    assert exit_codes == dict.fromkeys(exit_codes, 0), exit_codes


@pytest.fixture
def make_stack(
    tmp_path: Path, new_databases: Callable[[], dict[str, str]]
) -> Iterator[Callable[..., Stack]]:
    """Starts stacks of the test's own (for tests that stop or break services); takes
    Stack's options, such as service_env."""
    started: list[Stack] = []

    def make(**options: Any) -> Stack:
        stack = _start(tmp_path / f"stack{len(started)}", new_databases(), **options)
        started.append(stack)
        return stack

    yield make
    for stack in started:
        stack.stop_all()


@pytest.fixture
def own_stack(make_stack: Callable[..., Stack]) -> Stack:
    return make_stack()
