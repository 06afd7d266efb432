"""The outbox's retry delay: exponential in the attempts, capped, with jitter."""

from __future__ import annotations

import random

import pytest

from alooba_common.outbox import RelaySettings, backoff_delay

SETTINGS = RelaySettings(base_delay_seconds=1.0, max_delay_seconds=60.0)


class Highest(random.Random):
    """Always draws the top of the range, so the ceiling itself is observable."""

    def uniform(self, a: float, b: float) -> float:
        return b


class Lowest(random.Random):
    def uniform(self, a: float, b: float) -> float:
        return a


def test_delay_doubles_with_each_attempt() -> None:
    delays = [backoff_delay(attempts, SETTINGS, Highest()) for attempts in range(1, 7)]
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0]


def test_first_delay_is_the_base_delay() -> None:
    settings = RelaySettings(base_delay_seconds=0.25, max_delay_seconds=60.0)
    assert backoff_delay(1, settings, Highest()) == 0.25


def test_delay_is_capped_at_max_delay() -> None:
    assert backoff_delay(7, SETTINGS, Highest()) == 60.0
    assert backoff_delay(12, SETTINGS, Highest()) == 60.0


def test_delay_stays_capped_however_many_attempts() -> None:
    # OUTBOX_MAX_ATTEMPTS has no upper bound; 2 ** 1024 no longer fits in a float.
    assert backoff_delay(1025, SETTINGS, Highest()) == 60.0
    assert backoff_delay(100_000, SETTINGS, Highest()) == 60.0


@pytest.mark.parametrize("attempts", [1, 2, 3, 5, 8, 12])
def test_jitter_stays_within_half_the_ceiling_and_the_ceiling(attempts: int) -> None:
    ceiling = min(60.0, 2.0 ** (attempts - 1))
    rng = random.Random(attempts)
    delays = [backoff_delay(attempts, SETTINGS, rng) for _ in range(500)]
    assert all(ceiling / 2 <= delay <= ceiling for delay in delays)


def test_jitter_spreads_the_delays() -> None:
    rng = random.Random(7)
    delays = {round(backoff_delay(10, SETTINGS, rng), 6) for _ in range(50)}
    assert len(delays) > 40


def test_lowest_jitter_is_half_the_ceiling() -> None:
    assert backoff_delay(4, SETTINGS, Lowest()) == 4.0
