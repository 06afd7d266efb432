"""The few podman commands the smoke runs: secrets, kube play and down, pods' containers."""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Podman:
    executable: str = "podman"

    def run(self, *args: str, stdin: str | None = None) -> str:
        result = subprocess.run(  # noqa: S603 - podman with our own arguments
            [self.executable, *args], input=stdin, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(f"podman {' '.join(args)}: {result.stderr.strip()}")
        return result.stdout

    def create_env_secret(self, name: str, values: Mapping[str, str]) -> None:
        """A Secret for `envFrom.secretRef`. podman's kube play reads such a secret as a
        JSON object of base64 values (a Secret played from YAML is stored in another form
        that its envFrom cannot read, in podman 4.3)."""
        payload = {key: base64.b64encode(value.encode()).decode() for key, value in values.items()}
        self.remove_secret(name)  # podman 4.3 has no `secret create --replace`
        self.run("secret", "create", name, "-", stdin=json.dumps(payload))

    def create_file_secret(self, name: str, files: Mapping[str, str]) -> None:
        """A Secret mounted as a volume (certificates): podman 4.3's kube play reads it as a
        Secret document whose `data` it writes out as they are, undecoded, so the values go
        in plain."""
        document = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name},
            "data": dict(files),
        }
        self.remove_secret(name)
        self.run("secret", "create", name, "-", stdin=json.dumps(document))

    def remove_secret(self, name: str) -> None:
        subprocess.run(  # noqa: S603
            [self.executable, "secret", "rm", name], capture_output=True, check=False
        )

    def remove_volume(self, name: str) -> None:
        subprocess.run(  # noqa: S603
            [self.executable, "volume", "rm", name], capture_output=True, check=False
        )

    def play(self, manifests: Path) -> None:
        self.run("kube", "play", str(manifests))

    def down(self, manifests: Path) -> None:
        subprocess.run(  # noqa: S603
            [self.executable, "kube", "down", str(manifests)], capture_output=True, check=False
        )

    def containers(self, pod_prefix: str) -> list[dict[str, object]]:
        """The application containers (not the infra one) of pods named `pod_prefix...`."""
        listed = json.loads(self.run("ps", "--all", "--pod", "--format", "json") or "[]")
        return [
            c
            for c in listed
            if str(c.get("PodName", "")).startswith(pod_prefix) and not c.get("IsInfra", False)
        ]

    def wait(self, container: str) -> int:
        return int(self.run("wait", container).strip().splitlines()[-1])

    def logs(self, container: str) -> str:
        result = subprocess.run(  # noqa: S603
            [self.executable, "logs", container], capture_output=True, text=True, check=False
        )
        return result.stdout + result.stderr
