"""The sliding window behind auth throttling, and the middleware's metric, without backends."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry
from support.tls import tls_settings

from alooba_common.config import ConfigError, LoggingSettings
from alooba_common.tls import Identity
from gateway.app import create_app
from gateway.config import Settings
from gateway.metrics import HttpMetrics
from gateway.throttle import AuthThrottle, SlidingWindow


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_failures_within_the_limit_are_not_throttled() -> None:
    window = SlidingWindow(3, 60, clock=Clock())
    assert [window.record_failure("a") for _ in range(3)] == [None, None, None]


def test_the_failure_over_the_limit_is_throttled_until_the_oldest_leaves_the_window() -> None:
    clock = Clock()
    window = SlidingWindow(2, 60, clock=clock)
    window.record_failure("a")
    clock.now += 10
    window.record_failure("a")
    clock.now += 5
    # Kept: the failures at +10 and +15; the subject is under its limit at +70.
    assert window.record_failure("a") == pytest.approx(55)


def test_throttling_ends_when_the_window_has_passed() -> None:
    clock = Clock()
    window = SlidingWindow(1, 60, clock=clock)
    window.record_failure("a")
    assert window.record_failure("a") is not None
    clock.now += 60.001
    assert window.record_failure("a") is None


def test_subjects_are_counted_separately() -> None:
    window = SlidingWindow(1, 60, clock=Clock())
    window.record_failure("a")
    assert window.record_failure("b") is None


def test_a_zero_limit_turns_the_window_off() -> None:
    window = SlidingWindow(0, 60, clock=Clock())
    assert all(window.record_failure("a") is None for _ in range(100))


def test_tracked_subjects_are_bounded() -> None:
    window = SlidingWindow(1, 60, max_subjects=10, clock=Clock())
    for n in range(1000):
        window.record_failure(str(n))
    assert len(window._failures) == 10


def test_verdict_names_the_limits_hit_and_rounds_retry_after_up() -> None:
    clock = Clock()
    throttle = AuthThrottle(window_seconds=0.5, address_limit=1, prefix_limit=5, clock=clock)
    assert throttle.failed("10.0.0.1", "key:agh_abcdefgh").retry_after is None
    verdict = throttle.failed("10.0.0.1", "key:agh_abcdefgh")
    assert verdict.retry_after == 1
    assert verdict.limits == ("address",)


@pytest.mark.parametrize(
    "environ",
    [
        {"AUTH_THROTTLE_WINDOW_SECONDS": "0"},
        {"AUTH_THROTTLE_ADDRESS_LIMIT": "-1"},
        {"AUTH_THROTTLE_PREFIX_LIMIT": "-1"},
        {"TRUSTED_PROXY_HOPS": "-1"},
    ],
)
def test_bad_throttle_settings_fail_at_start_up(environ: dict[str, str]) -> None:
    (name,) = environ
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({"TLS_DIR": "/etc/alooba/tls", **environ})


async def test_refused_and_throttled_failures_are_counted() -> None:
    registry = CollectorRegistry()
    settings = Settings(
        logging=LoggingSettings(level="info", format="json"),
        tls=tls_settings(Identity.GATEWAY),
        assessments_addr="127.0.0.1:9",
        candidates_addr="127.0.0.1:9",
        auth_throttle_address_limit=2,
    )
    app = create_app(settings, metrics=HttpMetrics.create(registry))
    async with TestClient(TestServer(app)) as client:
        # No credentials: refused by the gateway itself, no backend involved.
        statuses = [(await client.get("/v1/greenhouse/list_tests")).status for _ in range(3)]
        assert (await client.get("/healthz")).status == 200
    assert statuses == [401, 401, 429]

    def count(outcome: str) -> float | None:
        return registry.get_sample_value(
            "gateway_auth_failures_total", {"surface": "partner", "outcome": outcome}
        )

    assert count("refused") == 2
    assert count("throttled") == 1
