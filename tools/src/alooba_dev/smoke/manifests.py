"""The rendered dev overlay, adjusted for `podman kube play` on one machine.

`kubectl kustomize deploy/k8s/overlays/dev` is what runs. These functions change only what a
single host running kube play needs, each named for its reason; everything else (images'
entry points, Job arguments, envFrom, security contexts, volumes) is the overlay's own:

- the images just built, instead of the registry's;
- every pod on the host's network, so each service gets ports of its own and is reached at
  127.0.0.1 (the configuration's ports and addresses change with it, and the probes' ports);
- the smoke's own settings (fast relays, the emulators' addresses) merged into each
  service's ConfigMap, and files they name (the emulators' CA certificates) mounted from a
  ConfigMap;
- kinds kube play cannot run are left out (deploy/k8s/README.md says how each is checked),
  and each migration Job becomes the Pod its template describes, run to completion first.
  cert-manager's Certificates are not played, but they say which identity each mounted
  `<name>-mtls` Secret holds; the smoke issues those from its own CA (`Plan.identities`).
"""

from __future__ import annotations

import copy
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from alooba_common.tls import Identity

Doc = dict[str, Any]
# What kube play runs; the rest is validated offline (make k8s-validate) instead.
PLAYED_KINDS = frozenset({"Deployment", "ConfigMap"})
TRUST_CONFIGMAP = "smoke-trust"
TRUST_DIR = "/etc/alooba/smoke-trust"


@dataclass(frozen=True)
class ServicePorts:
    serving: int  # gRPC (mutual TLS), or the gateway's HTTP
    metrics: int
    health: int  # gRPC services' plaintext grpc.health.v1, where their probes ask
    http: int = 0  # the console's pages (its serving port is gRPC), where its probes ask

    def http_of(self, service: str) -> int:
        """Where `service` serves HTTP: the gateway on its serving port, the console apart."""
        return self.serving if service == "gateway" else self.http


@dataclass
class Plan:
    """What the smoke needs from the rendered manifests, per service."""

    deployments: list[Doc]
    configmaps: list[Doc]
    migrations: list[Doc]  # Pods, one per migration Job
    secrets: set[str] = field(default_factory=set)  # names referenced by envFrom/volumes
    # Secret name -> the identity its cert-manager Certificate issues, for those referenced.
    identities: dict[str, Identity] = field(default_factory=dict)
    # What kube play makes a named volume of (the Secrets and ConfigMaps mounted), which
    # `kube down` leaves behind in podman 4.3.
    volumes: set[str] = field(default_factory=set)


def render(overlay: Path) -> list[Doc]:
    output = subprocess.run(  # noqa: S603 - kubectl with our overlay
        ["kubectl", "kustomize", str(overlay)],  # noqa: S607 - kubectl from PATH, as validate.sh
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [doc for doc in yaml.safe_load_all(output) if doc]


def service_of(doc: Doc) -> str:
    return str(doc["metadata"]["labels"]["app.kubernetes.io/name"])


def pod_spec(doc: Doc) -> Doc:
    spec: Doc = doc["spec"]["template"]["spec"]
    return spec


def configmap_names(spec: Doc) -> set[str]:
    return {
        source["configMapRef"]["name"]
        for container in spec["containers"]
        for source in container.get("envFrom", [])
        if "configMapRef" in source
    }


def secret_names(spec: Doc) -> set[str]:
    from_env = {
        source["secretRef"]["name"]
        for container in spec["containers"]
        for source in container.get("envFrom", [])
        if "secretRef" in source
    }
    from_volumes = {v["secret"]["secretName"] for v in spec.get("volumes", []) if "secret" in v}
    return from_env | from_volumes


def mounted_volume_names(spec: Doc) -> set[str]:
    """The Secrets and ConfigMaps a pod mounts: kube play keeps each in a volume so named."""
    names = set()
    for volume in spec.get("volumes", []):
        if "secret" in volume:
            names.add(str(volume["secret"]["secretName"]))
        elif "configMap" in volume:
            names.add(str(volume["configMap"]["name"]))
    return names


def certificate_identities(docs: Iterable[Doc]) -> dict[str, Identity]:
    """Each cert-manager Certificate's Secret name -> the identity of its SPIFFE URI (the CA's
    own Certificate names none and is left out)."""
    identities = {}
    for doc in docs:
        if doc["kind"] != "Certificate" or doc["spec"].get("isCA"):
            continue
        [uri] = doc["spec"]["uris"]
        identity = Identity.from_spiffe_id(uri)
        if identity is None:
            raise ValueError(f"Certificate {doc['metadata']['name']}: unknown identity {uri}")
        identities[str(doc["spec"]["secretName"])] = identity
    return identities


def plan(
    docs: Iterable[Doc],
    *,
    image: Mapping[str, str],
    ports: Mapping[str, ServicePorts],
    settings: Mapping[str, Mapping[str, str]],
) -> Plan:
    """The manifests to play: `image[service]` the image to run, `ports[service]` where it
    listens, `settings[service]` merged into its ConfigMap (values naming an existing file
    are mounted and rewritten to the mounted path)."""
    docs = [copy.deepcopy(doc) for doc in docs]
    configmaps = {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == "ConfigMap"}
    deployments = [doc for doc in docs if doc["kind"] == "Deployment"]
    jobs = [doc for doc in docs if doc["kind"] == "Job"]
    trust: dict[str, str] = {}
    secrets: set[str] = set()
    volumes: set[str] = set()
    for doc in [*deployments, *jobs]:
        service = service_of(doc)
        spec = pod_spec(doc)
        use_images_built(spec, image[service])
        on_host_network(spec)
        secret_volumes_not_optional(spec)
        secrets |= secret_names(spec)
        for name in configmap_names(spec):
            data = configmaps[name].setdefault("data", {})
            data.update(listening_on(service, ports[service]))
            data.update(addresses(service, ports))
            data.update(mounted(settings.get(service, {}), trust, spec))
        if doc["kind"] == "Deployment":
            probes_on(spec, ports[service], service)
        volumes |= mounted_volume_names(spec)
    played_configmaps = list(configmaps.values())
    if trust:
        played_configmaps.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": TRUST_CONFIGMAP},
                "data": trust,
            }
        )
    return Plan(
        deployments=deployments,
        configmaps=played_configmaps,
        migrations=[job_as_pod(job) for job in jobs],
        secrets=secrets,
        identities={
            name: identity
            for name, identity in certificate_identities(docs).items()
            if name in secrets
        },
        volumes=volumes,
    )


def use_images_built(spec: Doc, image: str) -> None:
    for container in spec["containers"]:
        container["image"] = image
        container["imagePullPolicy"] = "Never"


def on_host_network(spec: Doc) -> None:
    spec["hostNetwork"] = True
    # On the host's network a container listens on the host's ports; kube play would try to
    # publish the declared ones (and refuses to without a bridge network).
    for container in spec["containers"]:
        container.pop("ports", None)


def secret_volumes_not_optional(spec: Doc) -> None:
    # Kubernetes defaults `optional` to false; podman 4.3's kube play dereferences it unset.
    for volume in spec.get("volumes", []):
        if "secret" in volume:
            volume["secret"].setdefault("optional", False)


def listening_on(service: str, ports: ServicePorts) -> dict[str, str]:
    if service == "gateway":
        serving = {"HTTP_HOST": "127.0.0.1", "HTTP_PORT": str(ports.serving)}
    else:
        serving = {
            "GRPC_HOST": "127.0.0.1",
            "GRPC_PORT": str(ports.serving),
            "HEALTH_PORT": str(ports.health),
        }
    if service == "console":
        serving |= {"HTTP_HOST": "127.0.0.1", "HTTP_PORT": str(ports.http_of(service))}
    return {**serving, "METRICS_HOST": "127.0.0.1", "METRICS_PORT": str(ports.metrics)}


def addresses(service: str, ports: Mapping[str, ServicePorts]) -> dict[str, str]:
    """The clients' targets: the same `*_ADDR` keys the overlay sets, on 127.0.0.1."""
    callees = {
        "gateway": ("assessments", "candidates"),
        "assessments": ("candidates", "harvest-sync"),
        "candidates": ("assessments",),
        "console": ("assessments", "harvest-sync"),
    }.get(service, ())
    return {
        f"{callee.replace('-', '_').upper()}_ADDR": f"127.0.0.1:{ports[callee].serving}"
        for callee in callees
    }


def mounted(settings: Mapping[str, str], trust: dict[str, str], spec: Doc) -> dict[str, str]:
    """The settings, with values that name a file on this machine replaced by the same file
    mounted from the trust ConfigMap."""
    result: dict[str, str] = {}
    for key, value in settings.items():
        path = Path(value)
        if value.startswith("/") and path.is_file():
            item = f"{key.lower().replace('_', '-')}.pem"
            trust[item] = path.read_text()
            result[key] = f"{TRUST_DIR}/{item}"
            mount_trust(spec)
        else:
            result[key] = value
    return result


def mount_trust(spec: Doc) -> None:
    volumes = spec.setdefault("volumes", [])
    if not any(v["name"] == "smoke-trust" for v in volumes):
        volumes.append({"name": "smoke-trust", "configMap": {"name": TRUST_CONFIGMAP}})
    for container in spec["containers"]:
        mounts = container.setdefault("volumeMounts", [])
        if not any(m["name"] == "smoke-trust" for m in mounts):
            mounts.append({"name": "smoke-trust", "mountPath": TRUST_DIR, "readOnly": True})


def probes_on(spec: Doc, ports: ServicePorts, service: str) -> None:
    """gRPC probes ask the plaintext health port (the serving one wants a client
    certificate); HTTP probes ask the gateway's serving port, or the console's pages."""
    for container in spec["containers"]:
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            action = container.get(probe, {})
            if "grpc" in action:
                action["grpc"]["port"] = ports.health
            if "httpGet" in action:
                action["httpGet"]["port"] = ports.http_of(service)


def job_as_pod(job: Doc) -> Doc:
    """The Pod a Job's controller would create (kube play has no Jobs): its template, named
    after the Job."""
    template = job["spec"]["template"]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": job["metadata"]["name"],
            "labels": template.get("metadata", {}).get("labels", {}),
        },
        "spec": template["spec"],
    }


def readiness(deployment: Doc) -> tuple[str, int, str]:
    """The readiness probe as (kind, port, service-or-path): what the smoke polls."""
    probe = pod_spec(deployment)["containers"][0]["readinessProbe"]
    if "grpc" in probe:
        return "grpc", int(probe["grpc"]["port"]), str(probe["grpc"].get("service", ""))
    return "http", int(probe["httpGet"]["port"]), str(probe["httpGet"]["path"])


def dump(docs: Iterable[Doc]) -> str:
    return yaml.safe_dump_all(list(docs), sort_keys=False)
