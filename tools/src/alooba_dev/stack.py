"""Runs the whole system as real processes: `make run`, end-to-end tests, benchmarks.

Each service is started as `python -m <service>` with its own environment, exactly as
in a container; migrations run first through each service's `migrate` command. On the
embedded defaults every database is a SQLite file under `var/` and the key-encryption
key is generated once into `var/key-encryption-key`. Every process has its own
certificate from the development CA under `var/tls/` (alooba_dev.pki), made on first
start; the tools and tests that call the services use the same CA (`Stack.channel`).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import stat
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from alooba_common.grpc_client import create_channel
from alooba_common.secrets import generate_kek
from alooba_common.tls import CertificateFiles, Identity
from alooba_dev import ports
from alooba_dev.listeners import listened_by, taken
from alooba_dev.pki import DevPki, ensure_dev_pki

GRPC_SERVICES = ("candidates", "harvest-sync", "assessments")
# Files the services create under var/ are readable by their owner only.
OWNER_ONLY_UMASK = 0o077
# Started in this order (dependencies first) and stopped in the reverse order: the
# Greenhouse-facing system (what the end-to-end tests, bench and faults run).
START_ORDER = (*GRPC_SERVICES, "gateway")
# `make run` and `make demo` add the customer's console, and the development helper that
# takes a test from its invitation link (alooba_dev.take) in place of the assessment
# platform.
WITH_CONSOLE = (*START_ORDER, "console", "take")
# The callback host `make run` allows beside Greenhouse's (nothing listens there unless you
# start something: the PATCH is retried, then kept as a dead letter).
LOCAL_CALLBACK_HOST = "127.0.0.1:8443"
# Services with a database and migrations.
MIGRATED = (*GRPC_SERVICES, "console")


@dataclass(frozen=True, slots=True)
class Ports:
    gateway_http: int = 8080
    gateway_metrics: int = 9090
    assessments: int = 50051
    assessments_metrics: int = 9091
    candidates: int = 50052
    candidates_metrics: int = 9092
    harvest_sync: int = 50053
    harvest_sync_metrics: int = 9093
    console_http: int = 8000
    console: int = 50054
    console_metrics: int = 9094
    take_http: int = 8001
    # Plaintext grpc.health.v1 only (what the kubelet probes in Kubernetes).
    assessments_health: int = 50061
    candidates_health: int = 50062
    harvest_sync_health: int = 50063
    console_health: int = 50064

    def grpc(self, service: str) -> int:
        return int(getattr(self, service.replace("-", "_")))

    def health(self, service: str) -> int:
        return int(getattr(self, f"{service.replace('-', '_')}_health"))

    def metrics(self, service: str) -> int:
        if service == "gateway":
            return self.gateway_metrics
        return int(getattr(self, f"{service.replace('-', '_')}_metrics"))


def free_ports() -> Ports:
    """Ports free now, outside the ephemeral range (for stacks beside `make run`, and tests)."""
    return Ports(*ports.free_ports(len(dataclasses.fields(Ports))))


def module_name(service: str) -> str:
    if service == "take":
        return "alooba_dev.take"
    return service.replace("-", "_")


class ChannelSource(Protocol):
    """Opens a channel to one of the services as one of the identities: a Stack of local
    processes, or the same system running from its images (make images-smoke)."""

    def channel(self, service: str, identity: Identity) -> grpc.aio.Channel: ...


@dataclass
class Stack:
    var_dir: Path
    ports: Ports = field(default_factory=Ports)
    # service -> DATABASE_URL; defaults to SQLite files under var_dir.
    database_urls: Mapping[str, str] = field(default_factory=dict)
    # Extra environment for every service (say, LOG_LEVEL) and per service.
    extra_env: Mapping[str, str] = field(default_factory=dict)
    service_env: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    python: str = sys.executable
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _pki: DevPki | None = field(default=None, init=False, repr=False)
    # What start_all() starts, in order: START_ORDER, or WITH_CONSOLE.
    services: tuple[str, ...] = START_ORDER
    # Replicas started by start_replica: name -> (gRPC, metrics, plaintext health port).
    replica_ports: dict[str, tuple[int, int, int]] = field(default_factory=dict)

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.gateway_http}"

    @property
    def console_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.console_http}"

    @property
    def take_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.take_http}"

    def address(self, service: str) -> str:
        return f"127.0.0.1:{self.ports.grpc(service)}"

    def health_address(self, service: str) -> str:
        return f"127.0.0.1:{self.ports.health(service)}"

    @property
    def pki(self) -> DevPki:
        """The development CA and every identity's certificate, made on first use."""
        if self._pki is None:
            self._pki = ensure_dev_pki((self.var_dir / "tls").resolve())
        return self._pki

    def certificate(self, identity: Identity) -> CertificateFiles:
        return CertificateFiles(self.pki.settings(identity), expected=identity)

    def channel(
        self,
        service: str,
        identity: Identity,
        *,
        timeout: float = 10.0,
        wait_for_ready: bool = True,
    ) -> grpc.aio.Channel:
        """A channel to `service` as `identity` (an operator, the platform, ...), which
        may call what the service's access table lets that identity call."""
        return create_channel(
            self.address(service),
            tls=self.certificate(identity),
            default_timeout=timeout,
            wait_for_ready=wait_for_ready,
        )

    def log_path(self, service: str) -> Path:
        return self.var_dir / "log" / f"{service}.log"

    def database_url(self, service: str) -> str:
        default = f"sqlite:///{(self.var_dir / f'{service}.db').resolve()}"
        return self.database_urls.get(service, default)

    def key_encryption_key(self) -> str:
        """The stack's KEK: from the environment if set, else generated once into var/."""
        if os.environ.get("KEY_ENCRYPTION_KEY"):
            return os.environ["KEY_ENCRYPTION_KEY"]
        path = self.var_dir / "key-encryption-key"
        if not path.exists():
            self.prepare_var()
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                handle.write(generate_kek())
        return path.read_text().strip()

    def env(self, service: str) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("DATABASE_URL", "GRPC_", "HTTP_", "METRICS_", "HEALTH_", "TLS_"))
        }
        env.update(
            {
                "PYTHONUNBUFFERED": "1",
                "LOG_FORMAT": "json",
                # The take helper calls assessments as the assessment platform would.
                "TLS_DIR": str(
                    self.pki.folder(Identity.PLATFORM if service == "take" else Identity(service))
                ),
            }
        )
        if service != "take":  # the development helper has no metrics
            env.update(
                {"METRICS_PORT": str(self.ports.metrics(service)), "METRICS_HOST": "127.0.0.1"}
            )
        if service == "gateway":
            env.update(
                {
                    "HTTP_HOST": "127.0.0.1",
                    "HTTP_PORT": str(self.ports.gateway_http),
                    "ASSESSMENTS_ADDR": self.address("assessments"),
                    "CANDIDATES_ADDR": self.address("candidates"),
                }
            )
        elif service == "take":
            env.update(
                {
                    "HTTP_HOST": "127.0.0.1",
                    "HTTP_PORT": str(self.ports.take_http),
                    "ASSESSMENTS_ADDR": self.address("assessments"),
                }
            )
        else:
            env.update(
                {
                    "GRPC_HOST": "127.0.0.1",
                    "GRPC_PORT": str(self.ports.grpc(service)),
                    "HEALTH_PORT": str(self.ports.health(service)),
                    # For grpcurl, with the operator's certificate.
                    "GRPC_REFLECTION": "true",
                    "DATABASE_URL": self.database_url(service),
                }
            )
        if service in ("assessments", "harvest-sync", "console"):
            env["KEY_ENCRYPTION_KEY"] = self.key_encryption_key()
        if service in ("assessments", "console"):
            # Without SMTP_URL, both write their emails here as .eml files.
            env["MAIL_DIR"] = str(self.var_dir / "mail")
        if service == "candidates":
            # An erasure's outbox asks assessments to cancel the candidate's invitations.
            env["ASSESSMENTS_ADDR"] = self.address("assessments")
        if service == "assessments":
            env["CANDIDATES_ADDR"] = self.address("candidates")
            env["HARVEST_SYNC_ADDR"] = self.address("harvest-sync")
            # "View Report" opens the console; the candidate's link, the take helper.
            env["CONSOLE_URL"] = self.console_url
            if "take" in self.services:
                env["ASSESSMENT_LINK_BASE_URL"] = f"{self.take_url}/take"
                # `make run`: a callback `url` on this machine is allowed too, so that a local
                # walkthrough never PATCHes app.greenhouse.io (README).
                env.setdefault("CALLBACK_HOST_ALLOWLIST", f"*.greenhouse.io,{LOCAL_CALLBACK_HOST}")
        if service == "console":
            env.update(
                {
                    "HTTP_HOST": "127.0.0.1",
                    "HTTP_PORT": str(self.ports.console_http),
                    "CONSOLE_URL": self.console_url,
                    "GATEWAY_PUBLIC_URL": self.gateway_url,
                    "ASSESSMENTS_ADDR": self.address("assessments"),
                    "HARVEST_SYNC_ADDR": self.address("harvest-sync"),
                    # Plain HTTP on loopback in development; HTTPS everywhere else.
                    "COOKIE_SECURE": "false",
                }
            )
        env.update(self.extra_env)
        env.update(self.service_env.get(service, {}))
        return env

    def migrate(self) -> None:
        """Applies every service's migrations (blocking)."""
        self.prepare_var()
        for service in (s for s in MIGRATED if s in self.services):
            subprocess.run(  # noqa: S603 - our own interpreter and module
                [self.python, "-m", module_name(service), "migrate"],
                env=self.env(service),
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                umask=OWNER_ONLY_UMASK,
            )

    def prepare_var(self) -> None:
        """var/ and its log folder, owner-only: they hold the key-encryption key, the
        databases (candidate PII among them), emails and logs. What an earlier run left
        open to others is closed too."""
        (self.var_dir / "log").mkdir(mode=0o700, parents=True, exist_ok=True)
        for path in (self.var_dir, *self.var_dir.rglob("*")):
            mode = path.lstat().st_mode
            if not stat.S_ISLNK(mode) and mode & 0o077:
                path.chmod(stat.S_IMODE(mode) & 0o700)

    def _open_log(self, name: str) -> int:
        self.prepare_var()
        return os.open(self.log_path(name), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def start(self, service: str) -> subprocess.Popen[bytes]:
        """Starts one service (again, if it had stopped), its output appended to its log."""
        log = self._open_log(service)
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [self.python, "-m", module_name(service)],
            env=self.env(service),
            stdout=log,
            stderr=subprocess.STDOUT,
            # Own session: Ctrl-C reaches the supervisor only, which then stops the
            # services in order.
            start_new_session=True,
            # Whatever the service writes (SQLite files, emails) is its owner's alone.
            umask=OWNER_ONLY_UMASK,
        )
        os.close(log)
        self.processes[service] = process
        return process

    def start_replica(self, service: str, replica: int) -> subprocess.Popen[bytes]:
        """Another process of `service` on the same database, with ports of its own (as a
        second pod would run). Stopped with the others by stop_all()."""
        import socket

        sockets = [socket.socket() for _ in range(3)]
        try:
            for sock in sockets:
                sock.bind(("127.0.0.1", 0))
            grpc_port, metrics_port, health_port = (sock.getsockname()[1] for sock in sockets)
        finally:
            for sock in sockets:
                sock.close()
        env = self.env(service)
        env.update(
            {
                "GRPC_PORT": str(grpc_port),
                "METRICS_PORT": str(metrics_port),
                "HEALTH_PORT": str(health_port),
            }
        )
        name = f"{service}-{replica}"
        self.replica_ports[name] = (grpc_port, metrics_port, health_port)
        log = self._open_log(name)
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [self.python, "-m", module_name(service)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            umask=OWNER_ONLY_UMASK,
        )
        os.close(log)
        self.processes[name] = process
        return process

    def start_all(self) -> None:
        for service in self.services:
            self.start(service)

    def start_ready(self, timeout: float = 60.0) -> None:
        """start_all, then wait_ready; when a service never gets ready, every process is
        stopped before the error goes up (a failed start leaves nothing running)."""
        self.start_all()
        try:
            self.wait_ready(timeout=timeout)
        except BaseException:
            self.stop_all()
            raise

    def wait_ready(self, services: tuple[str, ...] = (), timeout: float = 30.0) -> None:
        """Waits until each service answers its readiness probe, and the answer came from
        the process this stack started (not another stack holding the same port)."""
        deadline = time.monotonic() + timeout
        for service in services or self.services:
            while not self.is_ready(service):
                self._check_running(service)
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{service} not ready after {timeout}s")
                time.sleep(0.1)
            process = self.processes.get(service)
            if process is None:
                continue
            port = self.probe_port(service)
            while listened_by(port, process.pid) is False:
                # Someone answered on our port: ours has not bound yet, or cannot.
                self._check_running(service)
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"{service}: port {port} is answered by another process, not the one "
                        "this stack started (another stack?); stop it, or run with --free-ports"
                    )
                time.sleep(0.1)

    def _check_running(self, service: str) -> None:
        process = self.processes.get(service)
        if process is not None and process.poll() is not None:
            raise RuntimeError(
                f"{service} exited with status {process.returncode}; see {self.log_path(service)}"
            )

    def probe_port(self, service: str) -> int:
        """The port the readiness probe asks (the health port of a gRPC service)."""
        http = {
            "gateway": self.ports.gateway_http,
            "console": self.ports.console_http,
            "take": self.ports.take_http,
        }
        return http[service] if service in http else self.ports.health(service)

    def all_ports(self) -> list[int]:
        """Every port the stack's services listen on."""
        ports = []
        for service in self.services:
            if service in ("gateway", "console", "take"):
                ports.append(self.probe_port(service))
            if service in (*GRPC_SERVICES, "console"):
                ports += [self.ports.grpc(service), self.ports.health(service)]
            if service != "take":
                ports.append(self.ports.metrics(service))
        return ports

    def taken_ports(self) -> list[int]:
        """The stack's ports something else already listens on."""
        return taken(self.all_ports())

    def is_ready(self, service: str) -> bool:
        http = {
            "gateway": f"{self.gateway_url}/readyz",
            "console": f"{self.console_url}/readyz",
            "take": f"{self.take_url}/healthz",
        }
        if service in http:
            try:
                with urllib.request.urlopen(http[service], timeout=1) as response:  # noqa: S310
                    ready = bool(response.status == 200)
            except OSError:
                return False
            return ready and (service != "console" or grpc_serving(self.health_address(service)))
        return grpc_serving(self.health_address(service))

    def stop(self, service: str, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int | None:
        process = self.processes.get(service)
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(sig)
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait()

    def stop_all(self, timeout: float = 30.0) -> dict[str, int | None]:
        """Stops every process (replicas first, then in reverse start order)."""
        replicas = [name for name in self.processes if name not in self.services]
        order = [*replicas, *reversed(self.services)]
        return {name: self.stop(name, timeout=timeout) for name in order}


def grpc_health_status(address: str, service: str = "", timeout: float = 1.0) -> str | None:
    """The health status name ("SERVING", "NOT_SERVING", ...) at `address` for `service`,
    or None when nothing answers; asked as the kubelet's probes ask: in plaintext, with no
    certificate. Synchronous gRPC: callers are synchronous, and grpc.aio under
    asyncio.run would leave an event loop per call for the garbage collector."""
    with grpc.insecure_channel(address) as channel:
        try:
            response = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=service), timeout=timeout
            )
        except grpc.RpcError:
            return None
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(response.status))


def grpc_serving(address: str, service: str = "", timeout: float = 1.0) -> bool:
    """Whether the health port at `address` answers SERVING for `service`."""
    return grpc_health_status(address, service, timeout) == "SERVING"


_NEXT_STEPS = """
The stack is up (embedded defaults: SQLite under {var}/).
  Console:  {console}/  (the customer's Organization Settings; gRPC {console_grpc})
  Gateway:  {gateway}/v1/greenhouse/  (metrics on :{gateway_metrics}/metrics)
  gRPC:     assessments {assessments}, candidates {candidates}, harvest-sync {harvest_sync}
            (mutual TLS: certificates under {var}/tls/, alooba-gh uses {var}/tls/operator)
  Take a test (development only): {take}/take/<token>, the link in each invitation email
  Emails:   {var}/mail/*.eml
  Logs:     {var}/log/<service>.log

Next steps, in another terminal (the README walks through them):
  .venv/bin/alooba-gh org create "Acme Corp"
  .venv/bin/alooba-gh user invite --org "Acme Corp" --role owner \\
      --email you@acme.example{console_addr}
      (prints the link that makes you the organization's first Owner; open it in a browser,
      then generate the Greenhouse API key under Organization Settings → Greenhouse)
  .venv/bin/alooba-gh test create --org "Acme Corp" --name "Data Analyst" --skill SQL --skill Python
  curl -u "$KEY:" {gateway}/v1/greenhouse/list_tests

Press Ctrl-C to stop everything.
"""


def _exports(stack: Stack) -> str:
    """Shell lines that point alooba-gh (and curl) at this stack's ports."""
    variables = {
        "ASSESSMENTS_ADDR": stack.address("assessments"),
        "CANDIDATES_ADDR": stack.address("candidates"),
        "HARVEST_SYNC_ADDR": stack.address("harvest-sync"),
        "CONSOLE_ADDR": stack.address("console"),
        "TLS_DIR": str(stack.pki.folder(Identity.OPERATOR).resolve()),
        "GATEWAY_URL": stack.gateway_url,
    }
    lines = [f"export {name}={value}" for name, value in variables.items()]
    return (
        "\nOn free ports: in another terminal, paste these so that alooba-gh (and curl "
        "$GATEWAY_URL) talk to this stack:\n" + "\n".join(lines)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the whole stack on the embedded defaults.")
    parser.add_argument("--var", type=Path, default=Path("var"), help="state folder (default var/)")
    parser.add_argument("--http-port", type=int, default=8080, help="gateway port (8080)")
    parser.add_argument(
        "--free-ports",
        action="store_true",
        help="use ports the OS picks instead of the fixed ones (to run beside another stack)",
    )
    args = parser.parse_args(argv)

    ports = free_ports() if args.free_ports else Ports(gateway_http=args.http_port)
    stack = Stack(var_dir=args.var, ports=ports, services=WITH_CONSOLE)
    busy = stack.taken_ports()
    if busy:
        print(
            f"{'Port' if len(busy) == 1 else 'Ports'} {', '.join(map(str, busy))} "
            f"{'is' if len(busy) == 1 else 'are'} in use (another stack?). Stop it, or run "
            "beside it with `make run RUN_ARGS=--free-ports` (and another --var).",
            file=sys.stderr,
            flush=True,
        )
        return 1
    print("Applying migrations ...", flush=True)
    stack.migrate()
    print(f"Starting {', '.join(stack.services)} ...", flush=True)
    stop = {"requested": False}

    def request_stop(_signum: int, _frame: object) -> None:
        stop["requested"] = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    stack.start_all()
    try:
        stack.wait_ready()
        if args.free_ports:
            print(_exports(stack), flush=True)
        print(
            _NEXT_STEPS.format(
                var=args.var,
                gateway=stack.gateway_url,
                gateway_metrics=stack.ports.gateway_metrics,
                assessments=stack.address("assessments"),
                candidates=stack.address("candidates"),
                harvest_sync=stack.address("harvest-sync"),
                console=stack.console_url,
                console_grpc=stack.address("console"),
                console_addr=(
                    ""
                    if stack.ports.console == Ports().console
                    else f" --console-addr {stack.address('console')}"
                ),
                take=stack.take_url,
            ),
            flush=True,
        )
        while not stop["requested"]:
            exited = [name for name, proc in stack.processes.items() if proc.poll() is not None]
            if exited:
                print(f"{', '.join(exited)} stopped unexpectedly; see {args.var}/log/", flush=True)
                return_code = 1
                break
            time.sleep(0.2)
        else:
            return_code = 0
    except (RuntimeError, TimeoutError) as error:
        print(f"start-up failed: {error}", file=sys.stderr, flush=True)
        return_code = 1
    print("\nStopping ...", flush=True)
    for service, status in stack.stop_all().items():
        print(f"  {service}: exited {status}", flush=True)
    return return_code


if __name__ == "__main__":
    raise SystemExit(main())
