"""Ports for servers started later: outside the ephemeral range, distinct, and per
pytest-xdist worker a slice of their own."""

from __future__ import annotations

import itertools
import socket

import pytest

from alooba_dev import ports


def test_ports_are_distinct_free_and_below_the_ephemeral_range() -> None:
    drawn = ports.free_ports(40)
    assert len(set(drawn)) == 40
    assert all(ports.LOWEST <= port < ports._ephemeral_start() for port in drawn)
    for port in drawn:
        with socket.socket() as server:
            server.bind(("127.0.0.1", port))  # raises if something holds it


def test_a_port_is_never_handed_out_twice_even_before_it_is_bound() -> None:
    first = ports.free_ports(5)
    again = ports.free_ports(5)
    assert not set(first) & set(again)


def test_a_port_in_use_is_skipped() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        held = holder.getsockname()[1]
        holder.listen()
        assert not ports._bindable(held)


@pytest.mark.parametrize("workers", [2, 3, 4])
def test_xdist_workers_draw_from_disjoint_slices(
    workers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", str(workers))
    slices = []
    for index in range(workers):
        monkeypatch.setenv("PYTEST_XDIST_WORKER", f"gw{index}")
        slices.append(ports._slice())
        low, high = ports._slice()
        assert all(low <= port < high for port in ports.free_ports(3))
    for (_, high), (low, _) in itertools.pairwise(slices):
        assert high <= low
    assert slices[0][0] == ports.LOWEST
    assert slices[-1][1] <= ports._ephemeral_start()
