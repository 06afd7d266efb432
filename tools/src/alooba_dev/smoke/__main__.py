"""`python -m alooba_dev.smoke`: run the system from its images and play the end-to-end path.

1. Render deploy/k8s/overlays/dev and adjust it for one host (manifests.py says exactly how).
2. Create each service's Secret (a database of its own on the given PostgreSQL server, its
   key-encryption key, the SMTP URL) as an operator would, out of band, and each identity's
   `<name>-mtls` Secret as cert-manager would (tls.crt, tls.key, ca.crt), issued by a CA
   made for this run (alooba_dev.pki); the smoke's own calls use certificates of that CA.
3. Run the migration Jobs' pods to completion (`podman kube play`), each must exit 0.
4. `podman kube play` the Deployments and ConfigMaps; wait until each pod answers its
   readiness probe as the manifest defines it.
5. The demo's path against the containers (alooba_dev.demo.flow): list_tests, send_test,
   the email, the test taken and submitted, the callback PATCH, test_status complete, the
   Harvest custom fields, signed webhooks (reject, anonymize) applied.
6. Tear everything down (also on failure; --keep leaves it running): pods, Secrets, the
   volumes kube play made of them, databases, the CA. Pods' logs are kept under --var.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import grpc

from alooba_common.config import CA_FILE, CERT_FILE, KEY_FILE
from alooba_common.grpc_client import create_channel
from alooba_common.secrets import generate_kek
from alooba_common.tls import CertificateFiles, Identity
from alooba_dev import ports
from alooba_dev.bench.postgres import fresh_databases
from alooba_dev.demo import World, flow, visit_console
from alooba_dev.pki import DevPki, ensure_dev_pki
from alooba_dev.smoke import manifests
from alooba_dev.smoke.manifests import Plan, ServicePorts
from alooba_dev.smoke.podman import Podman
from alooba_dev.stack import grpc_serving

SERVICES = ("gateway", "assessments", "candidates", "harvest-sync", "console")
PORTS_EACH = 4  # serving, metrics, health, and the console's pages
ROOT = Path(__file__).resolve().parents[4]


def say(text: str) -> None:
    print(f"images-smoke: {text}", flush=True)


@dataclass
class Containers:
    """Channels to the services running in the pods, each opened with a caller's
    certificate from the smoke's own CA (the pods hold that CA's server certificates)."""

    address: Callable[[str], str]
    pki: DevPki

    def channel(self, service: str, identity: Identity) -> grpc.aio.Channel:
        tls = CertificateFiles(self.pki.settings(identity), expected=identity)
        return create_channel(self.address(service), tls=tls, wait_for_ready=True)


def free_ports(services: tuple[str, ...]) -> dict[str, ServicePorts]:
    numbers = ports.free_ports(PORTS_EACH * len(services))
    return {
        service: ServicePorts(*numbers[PORTS_EACH * i : PORTS_EACH * (i + 1)])
        for i, service in enumerate(services)
    }


def env_secrets(databases: Mapping[str, str], smtp_url: str) -> dict[str, dict[str, str]]:
    """The Secrets deploy/k8s/README.md tells operators to create, with this run's values."""
    return {
        "assessments-secrets": {
            "DATABASE_URL": databases["assessments"],
            "KEY_ENCRYPTION_KEY": generate_kek(),
            "SMTP_URL": smtp_url,
        },
        "candidates-secrets": {"DATABASE_URL": databases["candidates"]},
        "harvest-sync-secrets": {
            "DATABASE_URL": databases["harvest-sync"],
            "KEY_ENCRYPTION_KEY": generate_kek(),
        },
        "console-secrets": {
            "DATABASE_URL": databases["console"],
            "KEY_ENCRYPTION_KEY": generate_kek(),
            "SMTP_URL": smtp_url,
        },
    }


def create_identity_secrets(podman: Podman, the_plan: Plan, pki: DevPki) -> list[str]:
    """Each mounted `<name>-mtls` Secret as cert-manager writes it: the identity's key and
    certificate and the CA, in PEM. Returns the names created."""
    created = []
    for name, identity in sorted(the_plan.identities.items()):
        folder = pki.folder(identity)
        podman.create_file_secret(
            name, {file: (folder / file).read_text() for file in (CERT_FILE, KEY_FILE, CA_FILE)}
        )
        created.append(name)
    return created


def run_migrations(podman: Podman, the_plan: Plan, path: Path, logs: Path) -> None:
    # Their ConfigMaps come along: a Job reads the same configuration as its Deployment.
    path.write_text(manifests.dump([*the_plan.configmaps, *the_plan.migrations]))
    podman.down(path)  # what a run that failed half-way may have left
    try:
        podman.play(path)
        for pod in the_plan.migrations:
            name = pod["metadata"]["name"]
            [container] = podman.containers(name)
            code = podman.wait(str(container["Names"][0]))  # type: ignore[index]
            output = podman.logs(str(container["Names"][0]))  # type: ignore[index]
            (logs / f"{name}.log").write_text(output)
            if code != 0:
                raise RuntimeError(f"migration {name} exited {code}:\n{output[-3000:]}")
            say(f"  {name}: exited 0")
    finally:
        podman.down(path)


def is_ready(deployment: dict[str, object]) -> bool:
    kind, port, target = manifests.readiness(deployment)
    if kind == "grpc":
        return grpc_serving(f"127.0.0.1:{port}", target)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{target}", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def wait_ready(podman: Podman, the_plan: Plan, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for deployment in the_plan.deployments:
        name = deployment["metadata"]["name"]
        while not is_ready(deployment):
            exited = [
                c for c in podman.containers(f"{name}-pod") if str(c.get("State")) == "exited"
            ]
            if exited or time.monotonic() > deadline:
                logs = "".join(podman.logs(str(c["Names"][0]))[-3000:] for c in exited)  # type: ignore[index]
                raise RuntimeError(
                    f"{name} is not ready (probe {manifests.readiness(deployment)})\n{logs}"
                )
            time.sleep(0.5)
        kind, port, target = manifests.readiness(deployment)
        say(f"  {name}: ready ({kind} probe on :{port}{' ' + target if target else ''})")


def keep_logs(podman: Podman, the_plan: Plan, logs: Path) -> None:
    for deployment in the_plan.deployments:
        name = deployment["metadata"]["name"]
        for container in podman.containers(f"{name}-pod"):
            container_name = str(container["Names"][0])  # type: ignore[index]
            (logs / f"{container_name}.log").write_text(podman.logs(container_name))


async def smoke(args: argparse.Namespace) -> None:
    started = time.monotonic()
    podman = Podman(args.engine)
    var = args.var.resolve()
    logs = var / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    ports = free_ports(SERVICES)
    address: Callable[[str], str] = lambda service: f"127.0.0.1:{ports[service].serving}"  # noqa: E731
    world = await World.start(f"http://{address('gateway')}")
    settings = world.service_env(log_level="info")
    smtp_url = settings["assessments"].pop("SMTP_URL")  # a Secret, as in production
    # The links in the console's emails point where this machine reaches its pages.
    console_url = f"http://127.0.0.1:{ports['console'].http}"
    settings["console"] = {**settings["console"], "CONSOLE_URL": console_url}
    images = {service: f"{args.registry}/{service}:{args.tag}" for service in SERVICES}
    system = var / "system.yaml"
    the_plan: Plan | None = None
    created: list[str] = []
    # The run's own CA; its key is deleted with the folder when the run ends.
    ca_folder = tempfile.TemporaryDirectory(prefix="alooba-smoke-ca-")
    pki = ensure_dev_pki(Path(ca_folder.name) / "tls")
    try:
        with fresh_databases(args.database_url, "alooba_smoke", SERVICES[1:]) as databases:
            say(f"rendering {args.overlay} for kube play")
            the_plan = manifests.plan(
                manifests.render(args.overlay), image=images, ports=ports, settings=settings
            )
            secrets = env_secrets(databases, smtp_url)
            missing = the_plan.secrets - set(secrets) - set(the_plan.identities)
            if missing:
                raise RuntimeError(f"the manifests use Secrets the smoke does not make: {missing}")
            for name, values in secrets.items():
                podman.create_env_secret(name, values)
                created.append(name)
            created += create_identity_secrets(podman, the_plan, pki)
            names = ", ".join(url.rsplit("/", 1)[-1] for url in databases.values())
            say(f"Secrets created: {', '.join(sorted(created))}; databases: {names}")
            say("migration Jobs (their pod templates, run to completion):")
            await asyncio.to_thread(run_migrations, podman, the_plan, var / "migrations.yaml", logs)
            system.write_text(manifests.dump([*the_plan.configmaps, *the_plan.deployments]))
            say(f"podman kube play {system}")
            podman.down(system)
            podman.play(system)
            await asyncio.to_thread(wait_ready, podman, the_plan, args.ready_timeout)
            say("the end-to-end path against the containers:")
            played = await flow(Containers(address, pki), world)
            say("the console against its container:")
            await visit_console(Containers(address, pki), console_url, played)
    finally:
        if the_plan is not None:
            await asyncio.to_thread(keep_logs, podman, the_plan, logs)
        if not args.keep:
            podman.down(system)
            for name in created:
                podman.remove_secret(name)
            for name in the_plan.volumes if the_plan is not None else ():
                podman.remove_volume(name)
            ca_folder.cleanup()
        await world.stop()
    say(
        f"green in {time.monotonic() - started:.0f} s: "
        f"{len(the_plan.migrations) if the_plan else 0} migration Jobs exited 0, "
        f"{len(SERVICES)} pods ready, the end-to-end path passed over mutual TLS "
        f"({len(the_plan.identities) if the_plan else 0} identities issued by the run's CA); "
        f"manifests played: {system}; logs: {logs}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m alooba_dev.smoke", description=__doc__)
    parser.add_argument("--database-url", required=True, help="PostgreSQL admin URL")
    parser.add_argument("--registry", default="localhost/alooba")
    parser.add_argument("--tag", required=True)
    parser.add_argument("--engine", default="podman", help="podman (kube play)")
    parser.add_argument("--overlay", type=Path, default=ROOT / "deploy/k8s/overlays/dev")
    parser.add_argument("--var", type=Path, default=ROOT / "var/smoke")
    parser.add_argument("--ready-timeout", type=float, default=120.0)
    parser.add_argument("--keep", action="store_true", help="leave the pods running")
    args = parser.parse_args(argv)
    try:
        asyncio.run(smoke(args))
    except Exception as error:
        print(f"images-smoke: FAILED: {error}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
