"""`GET /metrics`: the aggregates in the Prometheus text format, on an HTTP port of their own.

Why prometheus_client with a custom collector rather than the OpenTelemetry SDK's Prometheus
exporter: the OTel bridge (otel_bridge.py) can only publish what asynchronous instruments
can carry — no histogram (OTel has no asynchronous histogram), so latency would be three
percentile gauges — and the OTel exporter derives names from the instrument names and units.
A collector reads the exact aggregates at scrape time and writes the conventional names
directly: per-subtask counters with `job`, `operator` and `subtask` labels, job totals, the
merged latency histogram with its real buckets (in seconds, Prometheus' base unit) so that
`histogram_quantile` works across jobs, and the backpressure, busy and idle gauges.

Counters restart from zero when the metrics service restarts and forgets a job's telemetry
(the store keeps only logs and errors); Prometheus' `rate()` treats that as a counter reset.
Series are bounded by `TelemetryLimits` (jobs, operators and subtasks per job).

A scrape renders on a thread, off the event loop that ingests reports; it copies the numbers
under `TelemetryStore.lock` (so it never sees half a report) and builds the text after.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import socket
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from services.metrics.aggregates import Counters, SubtaskAggregate, TelemetryStore
from services.metrics.catalog import OperatorKind

log = logging.getLogger(__name__)

METRICS_PATH = "/metrics"

# Counter attribute -> (name stem, help), the same six counters per subtask and per job.
_COUNTERS: dict[str, tuple[str, str]] = {
    "records_in": ("records_in", "Records received"),
    "records_out": ("records_out", "Records emitted"),
    "bytes_in": ("bytes_in", "Bytes received"),
    "bytes_out": ("bytes_out", "Bytes emitted"),
    "errors": ("errors", "Errors"),
    "warnings": ("warnings", "Warnings"),
}

_SUBTASK_LABELS = ["job", "operator", "subtask"]


class TelemetryCollector(Collector):
    """Every job's aggregates as Prometheus metric families, read at scrape time."""

    def __init__(self, store: TelemetryStore) -> None:
        self._store = store

    def describe(self) -> Iterable[Metric]:
        # Nothing to describe up front: the families depend on what has been reported, and an
        # empty describe keeps the registry from running a collection at registration.
        return []

    def collect(self) -> Iterator[Metric]:
        subtask_counters = {
            attr: CounterMetricFamily(
                f"weir_{stem}", f"{text} by one subtask of an operator", labels=_SUBTASK_LABELS
            )
            for attr, (stem, text) in _COUNTERS.items()
        }
        job_counters = {
            attr: CounterMetricFamily(
                f"weir_job_{stem}",
                f"{text} by the job: records and bytes in are out of its sources, out are into "
                "its sinks; errors and warnings of all its operators",
                labels=["job"],
            )
            for attr, (stem, text) in _COUNTERS.items()
        }
        gauges = {
            "backpressure_fraction": GaugeMetricFamily(
                "weir_backpressure_ratio",
                "Fraction of recent time a live subtask was blocked on output",
                labels=_SUBTASK_LABELS,
            ),
            "busy_fraction": GaugeMetricFamily(
                "weir_busy_ratio",
                "Fraction of recent time a live subtask was processing",
                labels=_SUBTASK_LABELS,
            ),
            "idle_fraction": GaugeMetricFamily(
                "weir_idle_ratio",
                "Fraction of recent time a live subtask waited for input",
                labels=_SUBTASK_LABELS,
            ),
            "state_size": GaugeMetricFamily(
                "weir_state_size_bytes", "State size of a live subtask", labels=_SUBTASK_LABELS
            ),
        }
        job_backpressure = GaugeMetricFamily(
            "weir_job_backpressure_ratio",
            "Backpressure of the job: max over its live subtasks",
            labels=["job"],
        )
        throughput = GaugeMetricFamily(
            "weir_job_throughput_records_per_second",
            "Records per second read by the job's sources over the recent window",
            labels=["job"],
        )
        latency = HistogramMetricFamily(
            "weir_latency_seconds",
            "Source-to-sink latency of the job's records, merged over its sink subtasks",
            labels=["job"],
        )
        for job_id, job in self._snapshot():
            _add_counters(job_counters, [job_id], job.totals)
            job_backpressure.add_metric([job_id], job.backpressure)
            throughput.add_metric([job_id], job.throughput)
            if job.latency_bounds:
                latency.add_metric(
                    [job_id], _cumulative_buckets(job.latency_bounds, job.latency_counts), None
                )
            for operator_id, index, counters, live in job.subtasks:
                labels = [job_id, operator_id, str(index)]
                _add_counters(subtask_counters, labels, counters)
                if live is not None:
                    for attr, family in gauges.items():
                        family.add_metric(labels, float(getattr(live, attr)))
        yield from subtask_counters.values()
        yield from job_counters.values()
        yield from gauges.values()
        yield job_backpressure
        yield throughput
        yield latency

    def _snapshot(self) -> list[tuple[str, _JobSnapshot]]:
        """Copies of the numbers, taken under the lock: the families are built after it is
        released, so a scrape holds up report ingestion only for the copying."""
        now = self._store.clock()
        window_ms = self._store.limits.window_ms
        with self._store.lock:
            return [
                (
                    job_id,
                    _JobSnapshot(
                        totals=dataclasses.replace(job.totals),
                        backpressure=job.backpressure(now),
                        throughput=job.rates[OperatorKind.SOURCE].per_second(now),
                        latency_bounds=job.latency.bounds,
                        latency_counts=job.latency.counts,
                        subtasks=[
                            (
                                operator_id,
                                index,
                                dataclasses.replace(subtask.counters),
                                dataclasses.replace(subtask) if subtask.is_live(now, window_ms) else None,
                            )
                            for operator_id, operator in job.operators.items()
                            for index, subtask in sorted(operator.subtasks.items())
                        ],
                    ),
                )
                for job_id, job in self._store.snapshot_jobs()
            ]


@dataclass(frozen=True)
class _JobSnapshot:
    totals: Counters
    backpressure: float
    throughput: float
    latency_bounds: tuple[float, ...]
    latency_counts: tuple[int, ...]
    # (operator id, subtask index, counters, the subtask's gauges when it is live)
    subtasks: list[tuple[str, int, Counters, SubtaskAggregate | None]]


def _add_counters(families: dict[str, CounterMetricFamily], labels: list[str], counters: Counters) -> None:
    for attr, family in families.items():
        family.add_metric(labels, float(getattr(counters, attr)))


def _cumulative_buckets(bounds: tuple[float, ...], counts: tuple[int, ...]) -> list[tuple[str, float]]:
    """Prometheus buckets (`le` in seconds, cumulative, ending with +Inf) from the histogram's
    millisecond bounds and per-bucket counts (the last one the overflow)."""
    buckets: list[tuple[str, float]] = []
    cumulative = 0
    for bound, count in zip(bounds, counts, strict=False):
        cumulative += count
        buckets.append((repr(bound / 1000.0), float(cumulative)))
    buckets.append(("+Inf", float(sum(counts))))
    return buckets


def prometheus_registry(store: TelemetryStore) -> CollectorRegistry:
    """A registry of the store's metrics only: no process or platform collectors, whose
    names would clash when several Weir processes are scraped under one job label."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(TelemetryCollector(store))
    return registry


@dataclass
class PrometheusEndpoint:
    runner: web.AppRunner
    address: str

    async def stop(self) -> None:
        await self.runner.cleanup()


async def start_prometheus_endpoint(store: TelemetryStore, host: str, port: int) -> PrometheusEndpoint:
    """Serve `GET /metrics` on `host:port` (0: any free port) until `stop`."""
    registry = prometheus_registry(store)

    async def scrape(request: web.Request) -> web.Response:
        # CONTENT_TYPE_LATEST carries parameters (version, charset), which aiohttp's
        # `content_type=` refuses: set the header itself.
        # Rendering thousands of series takes a while: off the event loop, which ingests reports.
        body = await asyncio.to_thread(generate_latest, registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get(METRICS_PATH, scrape)
    runner = web.AppRunner(app)
    await runner.setup()
    # Bound here rather than by aiohttp so that the port is known when it was 0.
    sock = socket.create_server((host, port))
    await web.SockSite(runner, sock).start()
    address = f"{host}:{sock.getsockname()[1]}"
    log.info("Prometheus metrics on http://%s%s", address, METRICS_PATH)
    return PrometheusEndpoint(runner, address)
