"""`weir up`: the embedded platform — metrics, controller, gateway and N workers, each its
own process, supervised. Only the gateway listens on `--host`; the others listen on loopback.

The embedded shape is the production shape on one machine: the same `weir <service>`
commands compose.yaml runs, talking real gRPC. Children bind port 0 the first time and
publish their address in a port file; a child that dies is started again on the same port,
so the others keep reaching it. Children get SIGTERM if this process dies (PR_SET_PDEATHSIG),
so nothing is orphaned even by a `kill -9` of the supervisor.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from services.demo import ensure_demo_pipeline, mint_demo_token
from services.security import process_security
from services.serving import wait_for_termination_signal
from services.worker.compute_threads import machine_share

log = logging.getLogger(__name__)

START_DEADLINE_S = 60.0
STOP_GRACE_S = 10.0
# The wait before each restart in a row that fails to come up; one that came up (published
# its address) starts over, so that a worker killed now and then is back as fast each time.
RESTART_BACKOFF_S = (0.5, 1.0, 2.0, 5.0)
# Where the metrics service, the controller and the workers listen: every process of `weir up`
# is on this machine, so only the gateway, which serves the public API (with TLS if given),
# needs to be reachable from elsewhere. The internal listeners are plaintext and would accept
# API tokens and the cluster secret on every interface otherwise.
INTERNAL_HOST = "127.0.0.1"


@dataclass(frozen=True)
class PlatformConfig:
    data_dir: Path
    http_port: int = 5115
    grpc_port: int = 5116
    workers: int = 2
    slots: int = 4
    allowed_paths: list[Path] = field(default_factory=list)
    database_url: str | None = None
    demo: bool = False
    # Where the gateway (REST and the gRPC front door) listens; the rest is on INTERNAL_HOST.
    host: str = "127.0.0.1"
    # None: the controller's default, file://<data-dir>/checkpoints.
    checkpoint_url: str | None = None
    # TLS for the gateway's listeners, the only ones on `host`.
    tls_cert: Path | None = None
    tls_key: Path | None = None


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM when the supervisor dies."""
    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


class Child:
    """One supervised `weir <service>` process."""

    def __init__(self, name: str, args: list[str], run_dir: Path, log_dir: Path) -> None:
        self.name = name
        self.args = args
        self.port_file = run_dir / f"{name}.addr"
        self._log_path = log_dir / f"{name}.log"
        self.process: asyncio.subprocess.Process | None = None
        # Restarts since it last came up: how far into the backoff the next one is.
        self.restarts = 0

    async def start(self) -> None:
        self.port_file.unlink(missing_ok=True)
        log_file = self._log_path.open("ab")
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "services.cli",
            *self.args,
            "--port-file",
            str(self.port_file),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log_file,
            stderr=log_file,
            preexec_fn=_die_with_parent,
        )
        log_file.close()

    async def wait_ready(self, deadline_s: float = START_DEADLINE_S) -> str:
        """The address the child published, once it has; fails if it exits first."""
        deadline = time.monotonic() + deadline_s
        while not self.port_file.exists():
            if self.process is None or self.process.returncode is not None:
                raise RuntimeError(f"{self.name} exited during start; see {self._log_path}")
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{self.name} did not start within {deadline_s:.0f} s; see {self._log_path}"
                )
            await asyncio.sleep(0.05)
        return self.port_file.read_text().split()[0]

    async def stop(self) -> None:
        if self.process is None or self.process.returncode is not None:
            return
        self.process.terminate()
        try:
            await asyncio.wait_for(self.process.wait(), STOP_GRACE_S)
        except TimeoutError:
            log.warning("%s did not stop within %.0f s; killing it", self.name, STOP_GRACE_S)
            self.process.kill()
            await self.process.wait()


class Platform:
    def __init__(self, config: PlatformConfig) -> None:
        self.config = config
        data_dir = config.data_dir.resolve()
        run_dir, log_dir = data_dir / "run", data_dir / "logs"
        run_dir.mkdir(parents=True, exist_ok=True)
        log_dir.mkdir(parents=True, exist_ok=True)
        database_url = config.database_url or f"sqlite:///{data_dir / 'weir.db'}"
        allow = [arg for path in config.allowed_paths for arg in ("--allow-path", str(path))]
        # Prometheus' `GET /metrics` on a free port, published in run/prometheus.addr.
        prometheus = ["--prometheus-port", "0", "--prometheus-port-file", str(run_dir / "prometheus.addr")]
        self.metrics = Child(
            "metrics",
            ["metrics", "--host", INTERNAL_HOST, "--database-url", database_url, *prometheus],
            run_dir,
            log_dir,
        )
        self._controller_args = [
            "controller",
            "--host",
            INTERNAL_HOST,
            "--database-url",
            database_url,
            "--data-dir",
            str(data_dir),
            *allow,
            *(["--checkpoint-url", config.checkpoint_url] if config.checkpoint_url else []),
        ]
        # The controller and gateway learn their peers' addresses once those have started.
        self.controller = Child("controller", [], run_dir, log_dir)
        self.gateway = Child("gateway", [], run_dir, log_dir)
        self.workers: list[Child] = []
        self._run_dir, self._log_dir = run_dir, log_dir

    async def start(self) -> None:
        c = self.config
        metrics_address = await self._start(self.metrics)
        self.controller.args = [*self._controller_args, "--metrics", metrics_address]
        controller_address = await self._start(self.controller)
        self.gateway.args = self.gateway_args(controller_address, metrics_address)
        await self._start(self.gateway)
        for index in range(c.workers):
            worker_args = self.worker_args(controller_address, metrics_address)
            self.workers.append(Child(f"worker-{index}", worker_args, self._run_dir, self._log_dir))
        # Pinned ports matter most here: a worker restarted at its old address replaces its
        # dead self in the controller's registry at once, so its jobs recover now rather than
        # when the dead one's heartbeats are overdue.
        await asyncio.gather(*(self._start(w) for w in self.workers))

    def gateway_args(self, controller_address: str, metrics_address: str) -> list[str]:
        c = self.config
        tls = ["--tls-cert", str(c.tls_cert), "--tls-key", str(c.tls_key)] if c.tls_cert and c.tls_key else []
        return [
            "gateway",
            "--host",
            c.host,
            "--port",
            str(c.http_port),
            "--grpc-port",
            str(c.grpc_port),
            "--controller",
            controller_address,
            "--metrics",
            metrics_address,
            *tls,
        ]

    def worker_args(self, controller_address: str, metrics_address: str) -> list[str]:
        # On loopback, a worker registers the address it listens on, which every peer can dial.
        return [
            "worker",
            "--host",
            INTERNAL_HOST,
            "--controller",
            controller_address,
            "--metrics",
            metrics_address,
            "--slots",
            str(self.config.slots),
            # The workers share this machine: each gets its share of the cores for Polars.
            "--compute-threads",
            str(machine_share(self.config.workers)),
        ]

    async def _start(self, child: Child) -> str:
        await child.start()
        address = await child.wait_ready()
        # Restarts keep the port, so that everyone holding the address reaches the new process.
        if "--port" not in child.args:
            child.args = [*child.args, "--port", address.rsplit(":", 1)[1]]
        return address

    def children(self) -> list[Child]:
        return [self.gateway, *self.workers, self.controller, self.metrics]

    async def keep_alive(self) -> None:
        """Restart any child that exits, with backoff; runs until cancelled."""
        while True:
            await asyncio.sleep(0.5)
            for child in self.children():
                if child.process is not None and child.process.returncode is not None:
                    backoff = RESTART_BACKOFF_S[min(child.restarts, len(RESTART_BACKOFF_S) - 1)]
                    log.warning(
                        "%s exited with %s; restarting it in %.1f s",
                        child.name,
                        child.process.returncode,
                        backoff,
                    )
                    child.restarts += 1
                    await asyncio.sleep(backoff)
                    with contextlib.suppress(RuntimeError):
                        await child.start()
                        await child.wait_ready()
                        child.restarts = 0

    async def stop(self) -> None:
        # Front door first, data plane next, then the services the others report to.
        await self.gateway.stop()
        await asyncio.gather(*(w.stop() for w in self.workers))
        await self.controller.stop()
        await self.metrics.stop()


async def run_platform(config: PlatformConfig) -> None:
    platform = Platform(config)
    started = time.monotonic()
    # Minted before any child starts, so that every child (and every restart) accepts it.
    demo_token = mint_demo_token() if config.demo and process_security.current().api_tokens else None
    try:
        await platform.start()
        if config.demo:
            job_id = await ensure_demo_pipeline(await platform.controller.wait_ready(), demo_token)
        scheme = "https" if config.tls_cert else "http"
        rest = f"{scheme}://{config.host}:{config.http_port}"
        print(
            f"Weir is up in {time.monotonic() - started:.1f} s: REST {rest}, "
            f"gRPC {config.host}:{config.grpc_port}, {config.workers} workers, data in {config.data_dir}",
            flush=True,
        )
        if config.demo:
            print(f"Demo job {job_id}: curl {rest}/api/v1/jobs/{job_id}", flush=True)
        print("Ctrl-C stops everything.", flush=True)
        keeper = asyncio.create_task(platform.keep_alive())
        try:
            await wait_for_termination_signal()
        finally:
            keeper.cancel()
    finally:
        await platform.stop()
        print("Weir stopped.", flush=True)
