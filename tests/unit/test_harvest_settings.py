"""harvest-sync's settings: Greenhouse's two rate windows, and a push queue whose claims
outlast a wait for the rate budget."""

from __future__ import annotations

import pytest

from alooba_common.config import ConfigError
from alooba_common.secrets import generate_kek
from harvest_sync.config import Settings

# TLS_DIR is only named: reading settings does not open the certificate files.
BASE = {"KEY_ENCRYPTION_KEY": generate_kek(), "TLS_DIR": "/tls"}


def test_v1_and_v3_have_greenhouses_windows_by_default() -> None:
    harvest = Settings.from_env(BASE).harvest
    # v1 "per 10 seconds"; v3 "a fixed 30-second window" (harvest-v3-facts.md row 39).
    assert (harvest.rate_window_seconds, harvest.v3_rate_window_seconds) == (10.0, 30.0)
    scaled = Settings.from_env({**BASE, "HARVEST_V3_RATE_WINDOW_SECONDS": "1"}).harvest
    assert scaled.v3_rate_window_seconds == 1.0


def test_the_push_queue_claims_small_batches_for_long_unless_told_otherwise() -> None:
    relay = Settings.from_env(BASE).relay
    assert (relay.batch_size, relay.lease_seconds) == (10, 300.0)
    # A push waits at most this long for a budget slot: well inside its lease.
    assert Settings.from_env(BASE).harvest.budget_wait_seconds * 2 < relay.lease_seconds
    told = Settings.from_env({**BASE, "OUTBOX_BATCH_SIZE": "50", "OUTBOX_LEASE_SECONDS": "5"})
    assert (told.relay.batch_size, told.relay.lease_seconds) == (50, 5.0)


@pytest.mark.parametrize("name", ["HARVEST_V3_RATE_WINDOW_SECONDS", "HARVEST_BUDGET_WAIT_SECONDS"])
def test_a_window_or_wait_of_zero_is_refused(name: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({**BASE, name: "0"})
