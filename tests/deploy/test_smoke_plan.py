"""What `make images-smoke` plays of the rendered dev overlay: each pod's identity Secret issued
for the identity its Certificate names, and probes asked where the manifests ask them."""

from __future__ import annotations

from typing import Any

import pytest

from alooba_common.tls import Identity
from alooba_dev.smoke.manifests import Plan, ServicePorts, plan, readiness

SERVICES = ("gateway", "assessments", "candidates", "harvest-sync", "console")


@pytest.fixture(scope="module")
def played(rendered: dict[str, list[dict[str, Any]]]) -> Plan:
    ports = {
        service: ServicePorts(
            serving=41000 + i, metrics=42000 + i, health=43000 + i, http=44000 + i
        )
        for i, service in enumerate(SERVICES)
    }
    return plan(
        rendered["dev"],
        image={service: f"localhost/alooba/{service}:test" for service in SERVICES},
        ports=ports,
        settings={},
    )


def test_each_mounted_identity_secret_is_issued_for_its_certificates_identity(
    played: Plan,
) -> None:
    assert played.identities == {
        "gateway-mtls": Identity.GATEWAY,
        "assessments-mtls": Identity.ASSESSMENTS,
        "candidates-mtls": Identity.CANDIDATES,
        "harvest-sync-mtls": Identity.HARVEST_SYNC,
        "console-mtls": Identity.CONSOLE,
    }
    # Nothing the pods need is left for no one to create.
    env_secrets = {
        "assessments-secrets",
        "candidates-secrets",
        "harvest-sync-secrets",
        "console-secrets",
    }
    assert played.secrets == env_secrets | set(played.identities)


def test_grpc_services_are_probed_on_their_plaintext_health_port(played: Plan) -> None:
    probed = set()
    for deployment in played.deployments:
        service = deployment["metadata"]["labels"]["app.kubernetes.io/name"]
        config = next(
            c["data"]
            for c in played.configmaps
            if c["metadata"]["name"].startswith(f"{service}-config")
        )
        kind, port, _ = readiness(deployment)
        if service in ("gateway", "console"):  # the console's probes ask its pages
            assert (kind, port) == ("http", int(config["HTTP_PORT"]))
        else:
            assert (kind, port) == ("grpc", int(config["HEALTH_PORT"]))
            assert port != int(config["GRPC_PORT"])
        probed.add(service)
    assert probed == set(SERVICES)


def test_the_volumes_kube_play_makes_of_mounted_secrets_are_known_for_removal(
    played: Plan,
) -> None:
    assert set(played.identities) <= played.volumes
