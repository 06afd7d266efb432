from __future__ import annotations

import pytest
from support.tls import tls_dir

from alooba_common.tls import Identity


@pytest.fixture(autouse=True)
def operator_certificate(monkeypatch: pytest.MonkeyPatch) -> str:
    """alooba-gh finds the operator's certificate through TLS_DIR, as in a deployment."""
    folder = tls_dir(Identity.OPERATOR)
    monkeypatch.setenv("TLS_DIR", folder)
    monkeypatch.delenv("TLS_CA_FILE", raising=False)
    return folder
