"""What every workload in the rendered overlays must have: probes, a restricted security
context, resources, a PDB, an HPA, NetworkPolicy coverage, headless gRPC Services, its own
certificate, and no Secret committed."""

from __future__ import annotations

from typing import Any

import pytest

from alooba_common.tls import Identity

Resource = dict[str, Any]

GRPC_SERVICES = ("assessments", "candidates", "harvest-sync")
HEALTH_PORT = 50050
HTTP_SERVICES = ("gateway",)
# Pages over HTTP and a gRPC face for operators; its own database.
CONSOLE = "console"
SECRETS = {
    "assessments": "assessments-secrets",
    "candidates": "candidates-secrets",
    "harvest-sync": "harvest-sync-secrets",
    "console": "console-secrets",
}


def of_kind(resources: list[Resource], kind: str) -> list[Resource]:
    return [resource for resource in resources if resource["kind"] == kind]


def named(resources: list[Resource], kind: str, name: str) -> Resource:
    matches = [r for r in of_kind(resources, kind) if r["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind} {name}, found {len(matches)}"
    return matches[0]


def selects(selector: Resource, labels: dict[str, str]) -> bool:
    """A label selector (matchLabels only: the manifests use nothing else) against labels."""
    assert not selector.get("matchExpressions"), "matchExpressions: teach this helper first"
    match_labels: dict[str, str] = selector.get("matchLabels") or {}
    return all(labels.get(key) == value for key, value in match_labels.items())


def pod_labels(workload: Resource) -> dict[str, str]:
    labels: dict[str, str] = workload["spec"]["template"]["metadata"]["labels"]
    return labels


def container(workload: Resource) -> Resource:
    containers = workload["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    first: Resource = containers[0]
    return first


def config_of(resources: list[Resource], workload: Resource) -> dict[str, str]:
    """The ConfigMap the workload's container takes its environment from."""
    refs = [
        ref["configMapRef"]["name"]
        for ref in container(workload)["envFrom"]
        if "configMapRef" in ref
    ]
    assert len(refs) == 1
    data: dict[str, str] = named(resources, "ConfigMap", refs[0])["data"]
    return data


def deployments(rendered: dict[str, list[Resource]]) -> list[tuple[str, Resource]]:
    return [
        (overlay, deployment)
        for overlay, resources in rendered.items()
        for deployment in of_kind(resources, "Deployment")
    ]


@pytest.fixture(params=["dev", "prod"])
def overlay(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


def test_every_service_is_deployed(rendered: dict[str, list[Resource]]) -> None:
    for resources in rendered.values():
        names = sorted(d["metadata"]["name"] for d in of_kind(resources, "Deployment"))
        assert names == sorted((*GRPC_SERVICES, *HTTP_SERVICES, CONSOLE))


def test_grpc_services_use_native_grpc_probes(
    rendered: dict[str, list[Resource]], overlay: str
) -> None:
    for name in GRPC_SERVICES:
        c = container(named(rendered[overlay], "Deployment", name))
        # The plaintext health port: the mutual-TLS port refuses a caller without a
        # certificate, and the kubelet has none.
        for probe in ("readinessProbe", "startupProbe"):
            assert c[probe]["grpc"]["port"] == HEALTH_PORT, (name, probe)
            assert c[probe]["grpc"].get("service", "") == "", (name, probe)
        assert c["livenessProbe"]["grpc"] == {"port": HEALTH_PORT, "service": "liveness"}, name
        assert config_of(rendered[overlay], named(rendered[overlay], "Deployment", name))[
            "HEALTH_PORT"
        ] == str(HEALTH_PORT)
        # A pod busy with a long request must not be killed for one slow answer.
        assert c["livenessProbe"]["failureThreshold"] >= 3, name


@pytest.mark.parametrize("name", ["gateway", CONSOLE])
def test_http_services_probe_their_health_endpoints(
    rendered: dict[str, list[Resource]], overlay: str, name: str
) -> None:
    c = container(named(rendered[overlay], "Deployment", name))
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": 8080}
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": 8080}
    assert "httpGet" in c["startupProbe"]
    assert c["livenessProbe"]["failureThreshold"] >= 3


def test_ports_are_named(rendered: dict[str, list[Resource]]) -> None:
    for overlay, deployment in deployments(rendered):
        name = deployment["metadata"]["name"]
        ports = {p["name"]: p["containerPort"] for p in container(deployment)["ports"]}
        expected = {
            **({"http": 8080} if name in (*HTTP_SERVICES, CONSOLE) else {}),
            **({"grpc": 50051, "health": HEALTH_PORT} if name in (*GRPC_SERVICES, CONSOLE) else {}),
        }
        assert ports == {**expected, "metrics": 9090}, (overlay, name)
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true", (overlay, name)
        assert annotations["prometheus.io/port"] == "9090", (overlay, name)


def assert_restricted(workload: Resource, where: object) -> None:
    pod = workload["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True, where
    assert pod["securityContext"]["runAsUser"] == 65532, where
    assert pod["securityContext"]["fsGroup"] == 65532, where
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, where
    assert pod["automountServiceAccountToken"] is False, where
    c = container(workload)
    assert c["securityContext"]["allowPrivilegeEscalation"] is False, where
    assert c["securityContext"]["readOnlyRootFilesystem"] is True, where
    assert c["securityContext"]["capabilities"] == {"drop": ["ALL"]}, where
    tmp = [m for m in c["volumeMounts"] if m["mountPath"] == "/tmp"]
    assert len(tmp) == 1, where
    volume = [v for v in pod["volumes"] if v["name"] == tmp[0]["name"]]
    assert len(volume) == 1, where
    assert "emptyDir" in volume[0], where
    resources = c["resources"]
    for key in ("cpu", "memory"):
        assert key in resources["requests"], where
        assert key in resources["limits"], where


def test_every_pod_runs_restricted_with_resources(rendered: dict[str, list[Resource]]) -> None:
    for overlay, resources in rendered.items():
        for workload in of_kind(resources, "Deployment") + of_kind(resources, "Job"):
            assert_restricted(workload, (overlay, workload["kind"], workload["metadata"]["name"]))


def test_service_accounts_do_not_mount_tokens(rendered: dict[str, list[Resource]]) -> None:
    for overlay, deployment in deployments(rendered):
        account = deployment["spec"]["template"]["spec"]["serviceAccountName"]
        sa = named(rendered[overlay], "ServiceAccount", account)
        assert sa["automountServiceAccountToken"] is False, (overlay, account)


def test_rollouts_never_go_below_the_desired_replicas(
    rendered: dict[str, list[Resource]],
) -> None:
    for overlay, deployment in deployments(rendered):
        spec = deployment["spec"]
        where = (overlay, deployment["metadata"]["name"])
        assert spec["strategy"]["rollingUpdate"] == {"maxUnavailable": 0, "maxSurge": 1}, where
        assert spec["minReadySeconds"] > 0, where
        assert 0 < spec["revisionHistoryLimit"] <= 10, where


def test_termination_grace_covers_drain_and_shutdown(rendered: dict[str, list[Resource]]) -> None:
    for overlay, deployment in deployments(rendered):
        config = config_of(rendered[overlay], deployment)
        assert config["DRAIN_SECONDS"] == "5"
        assert config["SHUTDOWN_GRACE_SECONDS"] == "20"
        needed = float(config["DRAIN_SECONDS"]) + float(config["SHUTDOWN_GRACE_SECONDS"])
        grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        assert grace >= needed + 5, (overlay, deployment["metadata"]["name"])


def test_every_deployment_has_a_pdb_and_an_hpa(rendered: dict[str, list[Resource]]) -> None:
    for overlay, deployment in deployments(rendered):
        name = deployment["metadata"]["name"]
        resources = rendered[overlay]
        pdbs = [
            pdb
            for pdb in of_kind(resources, "PodDisruptionBudget")
            if selects(pdb["spec"]["selector"], pod_labels(deployment))
        ]
        assert len(pdbs) == 1, (overlay, name)
        hpas = [
            hpa
            for hpa in of_kind(resources, "HorizontalPodAutoscaler")
            if hpa["spec"]["scaleTargetRef"]
            == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        ]
        assert len(hpas) == 1, (overlay, name)
        assert hpas[0]["apiVersion"] == "autoscaling/v2"
        [metric] = hpas[0]["spec"]["metrics"]
        assert metric["resource"]["name"] == "cpu"


def test_prod_keeps_two_replicas_and_one_available(prod: list[Resource]) -> None:
    for deployment in of_kind(prod, "Deployment"):
        assert deployment["spec"]["replicas"] >= 2, deployment["metadata"]["name"]
    for hpa in of_kind(prod, "HorizontalPodAutoscaler"):
        assert hpa["spec"]["minReplicas"] >= 2, hpa["metadata"]["name"]
    for pdb in of_kind(prod, "PodDisruptionBudget"):
        assert pdb["spec"] == {**pdb["spec"], "minAvailable": 1}, pdb["metadata"]["name"]
        assert "maxUnavailable" not in pdb["spec"], pdb["metadata"]["name"]


def is_default_deny(policy: Resource) -> bool:
    spec = policy["spec"]
    return (
        spec["podSelector"] == {}
        and sorted(spec["policyTypes"]) == ["Egress", "Ingress"]
        and not spec.get("ingress")
        and not spec.get("egress")
    )


def test_namespace_denies_all_traffic_by_default(rendered: dict[str, list[Resource]]) -> None:
    for overlay, resources in rendered.items():
        assert any(is_default_deny(p) for p in of_kind(resources, "NetworkPolicy")), overlay


def test_every_workload_has_its_own_allow_policy(rendered: dict[str, list[Resource]]) -> None:
    for overlay, resources in rendered.items():
        # A policy for this workload in particular (not the namespace-wide DNS or metrics ones).
        allows = [
            policy
            for policy in of_kind(resources, "NetworkPolicy")
            if "app.kubernetes.io/name" in policy["spec"]["podSelector"].get("matchLabels", {})
            and (policy["spec"].get("ingress") or policy["spec"].get("egress"))
        ]
        for workload in of_kind(resources, "Deployment") + of_kind(resources, "Job"):
            labels = pod_labels(workload)
            assert any(selects(p["spec"]["podSelector"], labels) for p in allows), (
                overlay,
                workload["kind"],
                workload["metadata"]["name"],
            )


def test_grpc_services_are_headless(rendered: dict[str, list[Resource]]) -> None:
    for overlay, resources in rendered.items():
        for name in GRPC_SERVICES:
            service = named(resources, "Service", name)
            assert service["spec"].get("clusterIP") == "None", (overlay, name)
            assert [p["name"] for p in service["spec"]["ports"]] == ["grpc", "metrics"]
            deployment = named(resources, "Deployment", name)
            assert selects({"matchLabels": service["spec"]["selector"]}, pod_labels(deployment))


def test_gateway_resolves_every_backend_pod_in_its_namespace(
    rendered: dict[str, list[Resource]],
) -> None:
    for overlay, resources in rendered.items():
        namespace = named(resources, "Deployment", "gateway")["metadata"]["namespace"]
        gateway = config_of(resources, named(resources, "Deployment", "gateway"))
        assessments = config_of(resources, named(resources, "Deployment", "assessments"))
        console = config_of(resources, named(resources, "Deployment", CONSOLE))
        candidates = config_of(resources, named(resources, "Deployment", "candidates"))
        for config, key, peer in (
            (gateway, "ASSESSMENTS_ADDR", "assessments"),
            (gateway, "CANDIDATES_ADDR", "candidates"),
            (assessments, "CANDIDATES_ADDR", "candidates"),
            (candidates, "ASSESSMENTS_ADDR", "assessments"),
            (console, "ASSESSMENTS_ADDR", "assessments"),
            (console, "HARVEST_SYNC_ADDR", "harvest-sync"),
        ):
            assert config[key] == f"dns:///{peer}.{namespace}.svc.cluster.local:50051", overlay


def test_no_secret_is_rendered_only_referenced(rendered: dict[str, list[Resource]]) -> None:
    for overlay, resources in rendered.items():
        assert of_kind(resources, "Secret") == [], overlay
        for name, secret in SECRETS.items():
            refs = container(named(resources, "Deployment", name))["envFrom"]
            assert {"secretRef": {"name": secret}} in refs, (overlay, name)


def test_each_service_with_a_database_has_a_migration_job(
    rendered: dict[str, list[Resource]],
) -> None:
    for overlay, resources in rendered.items():
        for name in (*GRPC_SERVICES, CONSOLE):
            [job] = [
                j
                for j in of_kind(resources, "Job")
                if pod_labels(j)["app.kubernetes.io/name"] == name
            ]
            deployment = named(resources, "Deployment", name)
            c = container(job)
            assert c["args"] == ["migrate"], (overlay, name)
            assert c["image"] == container(deployment)["image"], (overlay, name)
            assert c["envFrom"] == container(deployment)["envFrom"], (overlay, name)
            assert job["spec"]["backoffLimit"] >= 1
            assert job["spec"]["ttlSecondsAfterFinished"] > 0
            assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
            # The migration pod must not join the Service or count for the PDB.
            service = named(resources, "Service", name)
            assert not selects({"matchLabels": service["spec"]["selector"]}, pod_labels(job))


@pytest.mark.parametrize("name", ["gateway", CONSOLE])
def test_ingress_terminates_tls(rendered: dict[str, list[Resource]], name: str) -> None:
    for overlay, resources in rendered.items():
        ingress = named(resources, "Ingress", name)
        [tls] = ingress["spec"]["tls"]
        [rule] = ingress["spec"]["rules"]
        assert tls["secretName"]
        assert tls["hosts"] == [rule["host"]], overlay
        backend = rule["http"]["paths"][0]["backend"]["service"]
        assert backend == {"name": name, "port": {"name": "http"}}


def test_view_report_and_emailed_links_use_the_consoles_host(
    rendered: dict[str, list[Resource]],
) -> None:
    for overlay, resources in rendered.items():
        [rule] = named(resources, "Ingress", CONSOLE)["spec"]["rules"]
        url = f"https://{rule['host']}"
        assessments = config_of(resources, named(resources, "Deployment", "assessments"))
        console = config_of(resources, named(resources, "Deployment", CONSOLE))
        assert assessments["CONSOLE_URL"] == url, overlay
        assert "REPORT_BASE_URL" not in assessments, overlay
        assert console["CONSOLE_URL"] == url, overlay


def test_images_are_pinned_by_the_overlay(rendered: dict[str, list[Resource]]) -> None:
    for overlay, deployment in deployments(rendered):
        image = container(deployment)["image"]
        assert ":" in image.rsplit("/", 1)[-1], (overlay, image)
        assert not image.endswith(":latest"), (overlay, image)


# --- service identities (docs/security.md) --------------------------------------------


def test_every_identity_has_a_certificate_from_the_overlays_issuer(
    rendered: dict[str, list[Resource]], overlay: str
) -> None:
    resources = rendered[overlay]
    issuers = {i["metadata"]["name"] for i in of_kind(resources, "Issuer")}
    certificates = {
        c["metadata"]["name"]: c["spec"]
        for c in of_kind(resources, "Certificate")
        if c["metadata"]["labels"].get("app.kubernetes.io/name") != "alooba-internal-ca"
    }
    assert sorted(certificates) == sorted(f"{identity}-mtls" for identity in Identity)
    for identity in Identity:
        spec = certificates[f"{identity}-mtls"]
        assert spec["uris"] == [identity.spiffe_id], identity
        assert spec["secretName"] == f"{identity}-mtls", identity
        assert spec["issuerRef"]["name"] in issuers, identity
        assert {"server auth", "client auth"} <= set(spec["usages"]), identity
        assert spec["privateKey"]["rotationPolicy"] == "Always", identity
        if identity.value not in (*GRPC_SERVICES, CONSOLE):
            assert "dnsNames" not in spec, identity
            assert "ipAddresses" not in spec, identity


def test_servers_certificates_name_every_address_their_clients_dial(
    rendered: dict[str, list[Resource]], overlay: str
) -> None:
    resources = rendered[overlay]
    dialled = [
        (key, value)
        for workload in ("gateway", "assessments", CONSOLE)
        for key, value in config_of(resources, named(resources, "Deployment", workload)).items()
        if key.endswith("_ADDR")
    ]
    assert len(dialled) == 6
    for key, address in dialled:
        host = address.removeprefix("dns:///").rsplit(":", 1)[0]
        server = host.split(".")[0]
        names = named(resources, "Certificate", f"{server}-mtls")["spec"]["dnsNames"]
        assert host in names, (key, address)


def test_every_pod_mounts_its_own_certificate_where_tls_dir_says(
    rendered: dict[str, list[Resource]], overlay: str
) -> None:
    resources = rendered[overlay]
    for name in (*GRPC_SERVICES, *HTTP_SERVICES, CONSOLE):
        deployment = named(resources, "Deployment", name)
        pod = deployment["spec"]["template"]["spec"]
        volumes = [
            v for v in pod["volumes"] if v.get("secret", {}).get("secretName") == f"{name}-mtls"
        ]
        assert len(volumes) == 1, name
        [mount] = [
            m for m in container(deployment)["volumeMounts"] if m["name"] == volumes[0]["name"]
        ]
        # A subPath mount would never see a renewal.
        assert "subPath" not in mount, name
        assert mount["readOnly"] is True, name
        assert config_of(resources, deployment)["TLS_DIR"] == mount["mountPath"], name
        # Readable by the pod's group (fsGroup), not by everyone.
        assert volumes[0]["secret"]["defaultMode"] & 0o007 == 0, name


def test_reflection_is_off(rendered: dict[str, list[Resource]]) -> None:
    for overlay, resources in rendered.items():
        for name in (*GRPC_SERVICES, CONSOLE):
            config = config_of(resources, named(resources, "Deployment", name))
            assert config["GRPC_REFLECTION"] == "false", (overlay, name)


def _grpc_peers(policy: Resource) -> set[str]:
    """Who the policy lets in on the gRPC port: pod names, and namespace/pod names for
    peers in other namespaces."""
    peers = set()
    for rule in policy["spec"].get("ingress", []):
        if {"protocol": "TCP", "port": 50051} not in rule["ports"]:
            continue
        for peer in rule["from"]:
            pod = peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"]
            namespace = peer.get("namespaceSelector", {}).get("matchLabels", {})
            where = namespace.get("kubernetes.io/metadata.name")
            peers.add(f"{where}/{pod}" if where else pod)
    return peers


def test_network_lets_in_the_platform_and_operators_and_nothing_else_new(
    rendered: dict[str, list[Resource]], overlay: str
) -> None:
    resources = rendered[overlay]
    servers = (*GRPC_SERVICES, CONSOLE)
    peers = {name: _grpc_peers(named(resources, "NetworkPolicy", name)) for name in servers}
    assert peers == {
        "assessments": {
            "gateway",
            "console",
            "candidates",
            "alooba-operator",
            "assessment-platform/assessment-platform",
        },
        "candidates": {"gateway", "assessments", "alooba-operator"},
        "harvest-sync": {"assessments", "console", "alooba-operator"},
        "console": {"alooba-operator"},
    }
    operator = named(resources, "NetworkPolicy", "alooba-operator")["spec"]
    assert operator.get("ingress", []) == []
    [egress] = operator["egress"]
    reached = {
        peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"] for peer in egress["to"]
    }
    assert reached == set(servers)
    assert egress["ports"] == [{"protocol": "TCP", "port": 50051}]
