"""Each service runs from its own environment, the way its image installs it.

An image installs one service package and what that package declares, from the lock file
(`uv sync --frozen --no-dev --package alooba-<service>`), not the whole workspace the
developers' .venv holds. A module the service imports without declaring it works in .venv
and crashes the container (harvest-sync once imported aiohttp and yarl undeclared). So each
service's environment is built here exactly that way, in a throwaway folder, and then: every
module of the service imports, `--help` answers, and `migrate` brings a fresh SQLite
database to the service's migration head.

uv links packages from its cache, so after `make install` each environment takes about a
second to build.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from alooba_common.migrations import head_revision
from alooba_common.secrets import generate_kek

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("gateway", "assessments", "candidates", "harvest-sync")
MIGRATED = ("assessments", "candidates", "harvest-sync")

# Imports every module of the service (the same script runs inside each image).
IMPORT_ALL = ROOT / "deploy" / "images" / "import_all.py"


def uv() -> str:
    local = ROOT / ".tools" / "bin" / "uv"
    found = str(local) if local.exists() else shutil.which("uv")
    if found is None:
        pytest.fail("uv is needed to build the service environments: run `make install`")
    return found


def module_of(service: str) -> str:
    return service.replace("-", "_")


def clean_env(**extra: str) -> dict[str, str]:
    """The environment a container starts with: nothing of this test process's Python
    set-up (no PYTHONPATH, no virtualenv), so only the built environment is importable."""
    keep = ("PATH", "HOME", "LANG", "TMPDIR", "UV_CACHE_DIR")
    env = {key: os.environ[key] for key in keep if key in os.environ}
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def environments(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """service -> the python of its own environment, built as its image builds it."""
    built: dict[str, Path] = {}
    for service in SERVICES:
        venv = tmp_path_factory.mktemp(f"env-{service}") / "venv"
        result = subprocess.run(
            [
                uv(),
                "sync",
                "--frozen",
                "--no-dev",
                "--package",
                f"alooba-{service}",
                "--python",
                sys.executable,
                "--quiet",
            ],
            cwd=ROOT,
            env=clean_env(UV_PROJECT_ENVIRONMENT=str(venv), UV_PYTHON_DOWNLOADS="never"),
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        assert result.returncode == 0, result.stderr
        built[service] = venv / "bin" / "python"
    return built


def run(python: Path, *args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(python), *args],
        cwd=cwd,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.mark.parametrize("service", SERVICES)
def test_every_module_imports_from_the_service_environment_alone(
    service: str, environments: dict[str, Path], tmp_path: Path
) -> None:
    result = run(environments[service], str(IMPORT_ALL), module_of(service), cwd=tmp_path)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("service", SERVICES)
def test_help_answers_from_the_service_environment_alone(
    service: str, environments: dict[str, Path], tmp_path: Path
) -> None:
    result = run(environments[service], "-m", module_of(service), "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"python -m {module_of(service)}" in result.stdout


@pytest.mark.parametrize("service", MIGRATED)
def test_migrate_reaches_head_from_the_service_environment_alone(
    service: str, environments: dict[str, Path], tmp_path: Path
) -> None:
    database = tmp_path / f"{service}.db"
    result = run(
        environments[service],
        "-m",
        module_of(service),
        "migrate",
        cwd=tmp_path,
        DATABASE_URL=f"sqlite:///{database}",
        KEY_ENCRYPTION_KEY=generate_kek(),
        LOG_FORMAT="json",
    )
    assert result.returncode == 0, result.stderr + result.stdout
    with sqlite3.connect(database) as connection:
        [(revision,)] = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    expected = head_revision(ROOT / "services" / service / "migrations")
    assert revision == expected


# Tracing loads OpenTelemetry's SDK, exporter and instrumentations only when it is turned on,
# so importing the service's modules proves nothing about them: turn it on.
_START_TRACING = """
import sys
from alooba_common.tracing import TracingSettings, start_tracing
tracing = start_tracing(TracingSettings(exporters=("otlp", "console")), service=sys.argv[1])
installed = [i for i in tracing.instrumentors if i.is_instrumented_by_opentelemetry]
print(" ".join(sorted(type(i).__name__ for i in installed)))
tracing.stop()
"""


@pytest.mark.parametrize("service", SERVICES)
def test_tracing_starts_from_the_service_environment_alone(
    service: str, environments: dict[str, Path], tmp_path: Path
) -> None:
    result = run(environments[service], "-c", _START_TRACING, service, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    instrumented = set(result.stdout.split())
    grpc = {"GrpcAioInstrumentorClient", "GrpcAioInstrumentorServer"}
    http = {"AioHttpClientInstrumentor", "AioHttpServerInstrumentor"}
    # aiohttp is instrumented where the service has it: all but candidates.
    assert instrumented == (grpc if service == "candidates" else grpc | http)
