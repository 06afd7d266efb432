"""`make k8s-validate` passes on the manifests as committed, and the same script fails on a
broken copy of them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
VALIDATE = K8S / "validate.sh"


def validate(k8s_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VALIDATE), str(k8s_dir)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHON": sys.executable},
        timeout=120,
    )


@pytest.mark.usefixtures("kubectl")
def test_make_k8s_validate_passes() -> None:
    result = subprocess.run(
        ["make", "--no-print-directory", "k8s-validate"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "INVALID" not in result.stdout
    assert result.stdout.count(": valid:") == 3  # dev, prod, base with its components


BREAKAGES = {
    "replicas-not-an-integer": (
        "base/gateway/deployment.yaml",
        "  replicas: 1\n",
        '  replicas: "two"\n',
    ),
    "unknown-field-under-spec": (
        "base/candidates/deployment.yaml",
        "  revisionHistoryLimit: 5\n",
        "  revisionHistoryLimit: 5\n  revisionHistoryLimits: 5\n",
    ),
    "unknown-api-version": (
        "base/assessments/pdb.yaml",
        "apiVersion: policy/v1\n",
        "apiVersion: policy/v2\n",
    ),
    "string-grpc-probe-port": (
        "base/harvest-sync/deployment.yaml",
        "              service: liveness\n",
        "              service: 7\n",
    ),
    "bad-servicemonitor-interval": (
        "components/service-monitors/servicemonitors.yaml",
        "interval: 30s",
        "interval: thirty",
    ),
    "certificate-unknown-field": (
        "base/identities/certificates.yaml",
        "  uris:\n",
        "  uri:\n",
    ),
    "certificate-bad-usage": (
        "base/identities/certificates.yaml",
        "    - client auth\n",
        "    - client authentication\n",
    ),
    "issuer-without-a-kind-of-issuer": (
        "components/internal-ca/issuers.yaml",
        "  selfSigned: {}\n",
        "  selfsigned: {}\n",
    ),
}


@pytest.mark.usefixtures("kubectl")
@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_validation_fails_on_a_broken_manifest(breakage: str, tmp_path: Path) -> None:
    relative, old, new = BREAKAGES[breakage]
    broken = tmp_path / "k8s"
    shutil.copytree(K8S, broken)
    path = broken / relative
    text = path.read_text()
    assert old in text, f"{relative} no longer holds {old!r}: update the test"
    path.write_text(text.replace(old, new, 1))

    result = validate(broken)

    assert result.returncode != 0, result.stdout + result.stderr
    assert "INVALID" in result.stdout


@pytest.mark.usefixtures("kubectl")
def test_the_untouched_copy_passes(tmp_path: Path) -> None:
    copy = tmp_path / "k8s"
    shutil.copytree(K8S, copy)
    result = validate(copy)
    assert result.returncode == 0, result.stdout + result.stderr
