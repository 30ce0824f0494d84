"""The `weir` command: `weir up` runs the embedded platform; `weir controller|worker|metrics|
gateway` run one service each (as compose.yaml does)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from services.security import process_security
from services.security.process_security import (
    add_security_flags,
    export_for_children,
    is_wildcard,
    security_from_args,
)

DEFAULT_DATA_DIR = Path(".weir")


def _database_url(args: argparse.Namespace) -> str:
    """--database-url, else WEIR_DATABASE_URL, else a SQLite file in the data dir."""
    if args.database_url:
        return args.database_url
    if url := os.environ.get("WEIR_DATABASE_URL"):
        return url
    data_dir = Path(args.data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{data_dir / 'weir.db'}"


def _up(args: argparse.Namespace) -> Coroutine[Any, Any, None]:
    from services.platform import PlatformConfig, run_platform

    return run_platform(
        PlatformConfig(
            data_dir=Path(args.data_dir),
            http_port=args.port,
            grpc_port=args.grpc_port,
            workers=args.workers,
            slots=args.slots,
            allowed_paths=[Path(p) for p in args.allow_path],
            database_url=args.database_url or os.environ.get("WEIR_DATABASE_URL"),
            demo=args.demo,
            host=args.host,
            checkpoint_url=args.checkpoint_url,
            tls_cert=args.tls_cert,
            tls_key=args.tls_key,
        )
    )


def _controller(args: argparse.Namespace) -> Coroutine[Any, Any, None]:
    from services.controller.main import ControllerConfig, run_controller

    data_dir = Path(args.data_dir).resolve()
    return run_controller(
        ControllerConfig(
            database_url=_database_url(args),
            metrics_address=args.metrics,
            # The data dir is always allowed to file connectors.
            allowed_paths=[data_dir, *(Path(p) for p in args.allow_path)],
            host=args.host,
            port=args.port,
            port_file=args.port_file,
            checkpoint_url=args.checkpoint_url or default_checkpoint_url(data_dir),
            otlp_endpoint=args.otlp_endpoint,
        )
    )


def default_checkpoint_url(data_dir: Path) -> str:
    """Checkpoints live in the data dir unless told otherwise."""
    return (data_dir / "checkpoints").resolve().as_uri()


def _worker(args: argparse.Namespace) -> Coroutine[Any, Any, None]:
    from services.worker.compute_threads import limit_compute_threads

    if args.compute_threads < 0:
        raise SystemExit("weir worker: --compute-threads must be 1 or more (0: one per core)")
    if args.compute_threads:
        limit_compute_threads(args.compute_threads)  # before the worker imports Polars
    from services.worker.main import WorkerConfig, run_worker

    if is_wildcard(args.host) and not args.advertise_host:
        # It would register 0.0.0.0:<port>, which the controller and other workers cannot dial.
        raise SystemExit(
            f"weir worker: --host {args.host} listens on every interface but is no address to "
            "dial: give --advertise-host, the name or address others reach this worker by"
        )
    return run_worker(
        WorkerConfig(
            controller_address=args.controller,
            metrics_address=args.metrics,
            slots=args.slots,
            host=args.host,
            port=args.port,
            advertise_host=args.advertise_host,
            port_file=args.port_file,
            otlp_endpoint=args.otlp_endpoint,
        )
    )


def _metrics(args: argparse.Namespace) -> Coroutine[Any, Any, None]:
    from services.metrics.otlp_export import otlp_metric_readers
    from services.metrics.server import MetricsConfig, run_metrics
    from services.metrics.store_catalog import StoreJobCatalog
    from services.store import JobLogStore, Store

    store = Store(_database_url(args))
    return run_metrics(
        MetricsConfig(
            host=args.host,
            port=args.port,
            port_file=args.port_file,
            catalog=StoreJobCatalog(store),
            job_logs=JobLogStore(store),
            metric_readers=otlp_metric_readers(args.otlp_endpoint),
            prometheus_port=args.prometheus_port,
            prometheus_host=args.prometheus_host,
            prometheus_port_file=args.prometheus_port_file,
        )
    )


def _gateway(args: argparse.Namespace) -> Coroutine[Any, Any, None]:
    from services.gateway import GatewayConfig, run_gateway

    return run_gateway(
        GatewayConfig(
            host=args.host,
            http_port=args.port,
            grpc_port=args.grpc_port,
            controller_address=args.controller,
            metrics_address=args.metrics,
            port_file=args.port_file,
        )
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="weir", description="Weir stream-processing platform")
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help_text: str, default_port: int = 0) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback)")
        sub.add_argument(
            "--port",
            type=int,
            default=default_port,
            help=f"port to listen on (default: {default_port or 'any free'})",
        )
        sub.add_argument("--port-file", type=Path, help="write the bound host:port here once serving")
        # TLS is for the public listeners, which only the gateway (alone or under `up`) has.
        add_security_flags(sub, tls=name in ("up", "gateway"))
        return sub

    up = command("up", "run the embedded platform: controller, metrics, gateway and workers", 5115)
    up.add_argument("--grpc-port", type=int, default=5116, help="public gRPC port (default: 5116)")
    up.add_argument(
        "--data-dir", default=str(DEFAULT_DATA_DIR), help="store, checkpoints and logs (default: .weir)"
    )
    up.add_argument("--workers", type=int, default=2, help="worker processes to keep alive (default: 2)")
    up.add_argument("--slots", type=int, default=4, help="task slots per worker (default: 4)")
    up.add_argument("--allow-path", action="append", default=[], help="a directory file connectors may use")
    up.add_argument(
        "--database-url", help="store URL (default: WEIR_DATABASE_URL, else SQLite in the data dir)"
    )
    up.add_argument("--demo", action="store_true", help="start the demo pipeline")
    up.add_argument(
        "--checkpoint-url",
        help="where checkpoints go, any fsspec URL (default: file://<data-dir>/checkpoints)",
    )
    up.set_defaults(run=_up)

    controller = command("controller", "run the controller")
    controller.add_argument("--metrics", required=True, help="host:port of the metrics service")
    controller.add_argument("--data-dir", default=str(DEFAULT_DATA_DIR))
    controller.add_argument("--database-url")
    controller.add_argument("--allow-path", action="append", default=[])
    controller.add_argument(
        "--checkpoint-url", help="where checkpoints go (default: file://<data-dir>/checkpoints)"
    )
    add_otlp_flag(controller, "traces")
    controller.set_defaults(run=_controller)

    worker = command("worker", "run a worker")
    worker.add_argument("--controller", required=True, help="host:port of the controller")
    worker.add_argument("--metrics", required=True, help="host:port of the metrics service")
    worker.add_argument("--slots", type=int, default=4)
    worker.add_argument(
        "--compute-threads",
        type=int,
        default=0,
        help="threads Polars may use in this worker (default: one per core; "
        "weir up gives each worker its share of the cores)",
    )
    worker.add_argument(
        "--advertise-host",
        default="",
        help="the host the controller and other workers dial to reach this worker "
        "(default: --host; needed when --host is a wildcard such as 0.0.0.0)",
    )
    add_otlp_flag(worker, "traces")
    worker.set_defaults(run=_worker)

    metrics = command("metrics", "run the metrics service")
    metrics.add_argument("--data-dir", default=str(DEFAULT_DATA_DIR))
    metrics.add_argument("--database-url")
    metrics.add_argument(
        "--prometheus-port",
        type=int,
        help="serve GET /metrics (Prometheus text) on this port, 0 for any free one (default: off)",
    )
    metrics.add_argument(
        "--prometheus-host",
        default="127.0.0.1",
        help="address /metrics listens on; it has no authentication (default: loopback)",
    )
    metrics.add_argument(
        "--prometheus-port-file", type=Path, help="write the /metrics host:port here once serving"
    )
    add_otlp_flag(metrics, "metrics")
    metrics.set_defaults(run=_metrics)

    gateway = command("gateway", "run the REST gateway and the public gRPC front door", 5115)
    gateway.add_argument("--grpc-port", type=int, default=5116)
    gateway.add_argument("--controller", required=True, help="host:port of the controller")
    gateway.add_argument("--metrics", required=True, help="host:port of the metrics service")
    gateway.set_defaults(run=_gateway)
    return parser


def add_otlp_flag(parser: argparse.ArgumentParser, signal: str) -> None:
    """--otlp-endpoint, one collector setting for every service: the metrics service exports
    metrics there, the controller and workers their traces."""
    parser.add_argument(
        "--otlp-endpoint",
        help=f"export {signal} over OTLP/HTTP to this collector base URL, e.g. http://localhost:4318 "
        "(default: OTEL_EXPORTER_OTLP_ENDPOINT, else off)",
    )


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    security = security_from_args(args)  # refuses to start (SystemExit) on an unsafe setup
    process_security.configure(security)
    if args.command == "up":
        export_for_children(args, security)
    logging.basicConfig(
        level=os.environ.get("WEIR_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # Ctrl-C is handled as a clean shutdown inside each service; this only hides the traceback.
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(args.run(args))


if __name__ == "__main__":
    main()
