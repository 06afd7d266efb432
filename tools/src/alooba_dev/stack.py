"""Runs the whole system as real processes: `make run`, end-to-end tests, benchmarks.

Each service is started as `python -m <service>` with its own environment, exactly as
in a container; migrations run first through each service's `migrate` command. On the
embedded defaults every database is a SQLite file under `var/` and the key-encryption
key is generated once into `var/key-encryption-key`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from alooba_common.secrets import generate_kek

GRPC_SERVICES = ("candidates", "harvest-sync", "assessments")
# Started in this order (dependencies first) and stopped in the reverse order.
START_ORDER = (*GRPC_SERVICES, "gateway")


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

    def grpc(self, service: str) -> int:
        return int(getattr(self, service.replace("-", "_")))

    def metrics(self, service: str) -> int:
        if service == "gateway":
            return self.gateway_metrics
        return int(getattr(self, f"{service.replace('-', '_')}_metrics"))


def free_ports() -> Ports:
    """Eight ports the OS says are free now (for tests that run beside `make run`)."""
    import socket

    sockets = [socket.socket() for _ in range(8)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return Ports(*(sock.getsockname()[1] for sock in sockets))
    finally:
        for sock in sockets:
            sock.close()


def module_name(service: str) -> str:
    return service.replace("-", "_")


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
    # Replicas started by start_replica: name -> (gRPC port, metrics port).
    replica_ports: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.gateway_http}"

    def address(self, service: str) -> str:
        return f"127.0.0.1:{self.ports.grpc(service)}"

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
            path.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                handle.write(generate_kek())
        return path.read_text().strip()

    def env(self, service: str) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("DATABASE_URL", "GRPC_", "HTTP_", "METRICS_"))
        }
        env.update(
            {
                "PYTHONUNBUFFERED": "1",
                "LOG_FORMAT": "json",
                "METRICS_PORT": str(self.ports.metrics(service)),
                "METRICS_HOST": "127.0.0.1",
            }
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
        else:
            env.update(
                {
                    "GRPC_HOST": "127.0.0.1",
                    "GRPC_PORT": str(self.ports.grpc(service)),
                    "DATABASE_URL": self.database_url(service),
                }
            )
        if service in ("assessments", "harvest-sync"):
            env["KEY_ENCRYPTION_KEY"] = self.key_encryption_key()
        if service == "assessments":
            env["CANDIDATES_ADDR"] = self.address("candidates")
            env["HARVEST_SYNC_ADDR"] = self.address("harvest-sync")
        env.update(self.extra_env)
        env.update(self.service_env.get(service, {}))
        return env

    def migrate(self) -> None:
        """Applies every service's migrations (blocking)."""
        (self.var_dir / "log").mkdir(parents=True, exist_ok=True)
        for service in GRPC_SERVICES:
            subprocess.run(  # noqa: S603 - our own interpreter and module
                [self.python, "-m", module_name(service), "migrate"],
                env=self.env(service),
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )

    def start(self, service: str) -> subprocess.Popen[bytes]:
        """Starts one service (again, if it had stopped), its output appended to its log."""
        self.log_path(service).parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path(service).open("ab")
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [self.python, "-m", module_name(service)],
            env=self.env(service),
            stdout=log,
            stderr=subprocess.STDOUT,
            # Own session: Ctrl-C reaches the supervisor only, which then stops the
            # services in order.
            start_new_session=True,
        )
        log.close()
        self.processes[service] = process
        return process

    def start_replica(self, service: str, replica: int) -> subprocess.Popen[bytes]:
        """Another process of `service` on the same database, with ports of its own (as a
        second pod would run). Stopped with the others by stop_all()."""
        import socket

        with socket.socket() as grpc_socket, socket.socket() as metrics_socket:
            grpc_socket.bind(("127.0.0.1", 0))
            metrics_socket.bind(("127.0.0.1", 0))
            grpc_port, metrics_port = grpc_socket.getsockname()[1], metrics_socket.getsockname()[1]
        env = self.env(service)
        env.update({"GRPC_PORT": str(grpc_port), "METRICS_PORT": str(metrics_port)})
        name = f"{service}-{replica}"
        self.replica_ports[name] = (grpc_port, metrics_port)
        log = self.log_path(name).open("ab")
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [self.python, "-m", module_name(service)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.processes[name] = process
        return process

    def start_all(self) -> None:
        for service in START_ORDER:
            self.start(service)

    def wait_ready(self, services: tuple[str, ...] = START_ORDER, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        for service in services:
            while not self.is_ready(service):
                process = self.processes.get(service)
                if process is not None and process.poll() is not None:
                    raise RuntimeError(
                        f"{service} exited with status {process.returncode}; "
                        f"see {self.log_path(service)}"
                    )
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{service} not ready after {timeout}s")
                time.sleep(0.1)

    def is_ready(self, service: str) -> bool:
        if service == "gateway":
            try:
                with urllib.request.urlopen(f"{self.gateway_url}/readyz", timeout=1) as response:  # noqa: S310
                    return bool(response.status == 200)
            except OSError:
                return False
        return grpc_serving(self.address(service))

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
        replicas = [name for name in self.processes if name not in START_ORDER]
        order = [*replicas, *reversed(START_ORDER)]
        return {name: self.stop(name, timeout=timeout) for name in order}


def grpc_serving(address: str, service: str = "", timeout: float = 1.0) -> bool:
    async def check() -> bool:
        async with grpc.aio.insecure_channel(address) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            try:
                response = await stub.Check(
                    health_pb2.HealthCheckRequest(service=service), timeout=timeout
                )
            except grpc.aio.AioRpcError:
                return False
            return bool(response.status == health_pb2.HealthCheckResponse.SERVING)

    return asyncio.run(check())


_NEXT_STEPS = """
The stack is up (embedded defaults: SQLite under {var}/).
  Gateway:  {gateway}/v1/greenhouse/  (metrics on :{gateway_metrics}/metrics)
  gRPC:     assessments {assessments}, candidates {candidates}, harvest-sync {harvest_sync}
  Logs:     {var}/log/<service>.log

Next steps, in another terminal (the README walks through them):
  .venv/bin/alooba-gh org create "Acme Corp"
  .venv/bin/alooba-gh key issue --org "Acme Corp"
  .venv/bin/alooba-gh test create --org "Acme Corp" --name "Data Analyst" --skill SQL --skill Python
  curl -u "$KEY:" {gateway}/v1/greenhouse/list_tests

Press Ctrl-C to stop everything.
"""


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
    stack = Stack(var_dir=args.var, ports=ports)
    print("Applying migrations ...", flush=True)
    stack.migrate()
    print("Starting candidates, harvest-sync, assessments, gateway ...", flush=True)
    stop = {"requested": False}

    def request_stop(_signum: int, _frame: object) -> None:
        stop["requested"] = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    stack.start_all()
    try:
        stack.wait_ready()
        print(
            _NEXT_STEPS.format(
                var=args.var,
                gateway=stack.gateway_url,
                gateway_metrics=stack.ports.gateway_metrics,
                assessments=stack.address("assessments"),
                candidates=stack.address("candidates"),
                harvest_sync=stack.address("harvest-sync"),
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
