"""Tracing in the manifests: off in the overlays as shipped; the opt-in `tracing` component
turns it on in every service and lets their pods reach the collector through the
default-deny NetworkPolicies."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import yaml

from alooba_common.tracing import TracingSettings

Resource = dict[str, Any]
K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
OTLP_PORT = 4317
SERVICES = {"gateway", "assessments", "candidates", "harvest-sync", "console"}


def with_tracing(kubectl: str, tmp_path: Path) -> list[Resource]:
    """The dev overlay with the tracing component added, as an operator adds it."""
    wrapper = tmp_path / "wrapper"
    wrapper.mkdir()
    (wrapper / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\n"
        "kind: Kustomization\n"
        f"resources:\n  - {os.path.relpath(K8S / 'overlays' / 'dev', wrapper)}\n"
        f"components:\n  - {os.path.relpath(K8S / 'components' / 'tracing', wrapper)}\n"
    )
    result = subprocess.run(
        [kubectl, "kustomize", str(wrapper)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def service_configs(resources: list[Resource]) -> dict[str, dict[str, str]]:
    """Each Deployment's ConfigMap data, by service."""
    configmaps = {r["metadata"]["name"]: r["data"] for r in resources if r["kind"] == "ConfigMap"}
    configs = {}
    for deployment in (r for r in resources if r["kind"] == "Deployment"):
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        [name] = [s["configMapRef"]["name"] for s in container["envFrom"] if "configMapRef" in s]
        configs[deployment["metadata"]["name"]] = configmaps[name]
    return configs


def test_tracing_is_off_in_the_overlays_as_shipped(rendered: dict[str, list[Resource]]) -> None:
    for resources in rendered.values():
        configs = service_configs(resources)
        assert set(configs) == SERVICES
        assert not any(TracingSettings.from_env(data).enabled for data in configs.values())


def test_the_tracing_component_turns_otlp_export_on_in_every_service(
    kubectl: str, tmp_path: Path
) -> None:
    configs = service_configs(with_tracing(kubectl, tmp_path))
    assert set(configs) == SERVICES
    for data in configs.values():
        assert TracingSettings.from_env(data).exporters == ("otlp",)
        assert data["OTEL_EXPORTER_OTLP_ENDPOINT"].endswith(f":{OTLP_PORT}")


def test_the_tracing_component_lets_every_service_reach_the_collector(
    kubectl: str, tmp_path: Path
) -> None:
    resources = with_tracing(kubectl, tmp_path)
    allowing = [
        policy
        for policy in resources
        if policy["kind"] == "NetworkPolicy"
        and any(
            port.get("port") == OTLP_PORT
            for rule in policy["spec"].get("egress", [])
            for port in rule.get("ports", [])
        )
    ]
    for deployment in (r for r in resources if r["kind"] == "Deployment"):
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert any(
            all(labels.get(k) == v for k, v in p["spec"]["podSelector"]["matchLabels"].items())
            for p in allowing
        ), deployment["metadata"]["name"]
