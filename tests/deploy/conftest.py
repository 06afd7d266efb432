"""Rendering the kustomize overlays once per session, with the kubectl on PATH."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = ("dev", "prod")


@pytest.fixture(scope="session")
def kubectl() -> str:
    path = shutil.which("kubectl")
    if path is None:
        pytest.skip("kubectl (with its embedded kustomize) is not installed")
    return path


def render(kubectl: str, directory: Path) -> list[dict[str, Any]]:
    """`kubectl kustomize <directory>`, parsed: one dict per resource."""
    result = subprocess.run(
        [kubectl, "kustomize", str(directory)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="session")
def rendered(kubectl: str) -> dict[str, list[dict[str, Any]]]:
    """Every overlay's resources, by overlay name."""
    return {overlay: render(kubectl, K8S / "overlays" / overlay) for overlay in OVERLAYS}


@pytest.fixture(scope="session")
def prod(rendered: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return rendered["prod"]
