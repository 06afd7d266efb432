"""Where alooba-gh finds the operator's certificate: --tls-dir, else TLS_DIR, else
var/tls/operator under the current folder (where `make run` puts it)."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from support.inprocess import System, running_system
from support.tls import dev_pki, tls_dir

from alooba_cli.main import main
from alooba_common.tls import Identity


@pytest.fixture
async def system(shared_databases: dict[str, str]) -> AsyncIterator[System]:
    async with running_system(shared_databases) as running:
        yield running


async def _org_list(system: System, *options: str) -> int:
    argv = ["--assessments-addr", system.addresses["assessments"], *options, "org", "list"]
    return await asyncio.to_thread(main, argv)


async def test_the_certificate_under_var_is_the_default(
    system: System, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(dev_pki().folder(Identity.OPERATOR), tmp_path / "var/tls/operator")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TLS_DIR")

    assert await _org_list(system) == 0


async def test_tls_dir_option_wins_over_the_environment(
    system: System, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TLS_DIR", tls_dir(Identity.GATEWAY))

    as_gateway = await _org_list(system)
    refused = capsys.readouterr().err
    as_operator = await _org_list(system, "--tls-dir", tls_dir(Identity.OPERATOR))

    assert as_gateway == 1
    assert refused.startswith("alooba-gh: PERMISSION_DENIED: gateway may not call ")
    assert as_operator == 0


async def test_no_certificate_exits_2_saying_where_it_looked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nothing-here"

    code = await asyncio.to_thread(main, ["--tls-dir", str(missing), "org", "list"])

    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"alooba-gh: no usable certificate in {missing}: cannot read ")
    assert "--tls-dir or TLS_DIR" in err
