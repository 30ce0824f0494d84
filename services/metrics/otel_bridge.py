"""Publishing the aggregates through the OpenTelemetry SDK, for OTLP/Prometheus exporters.

Why observe instead of recording into OTel instruments as reports arrive: workers send
pre-aggregated deltas, and the OTel metrics API only records raw measurements — a latency
histogram delta of a million records would have to be replayed as a million `record()` calls,
and bucket bounds are fixed per view while reports carry their own. OTel also has no windowed
rate (throughput over the last 10 s), cannot forget a finished job's series, and reading its
in-memory reader collects every series of every job per query. So the exact, bounded
aggregates in `aggregates.py` are the source of truth, and this bridge exposes them as
asynchronous instruments (observable counters and gauges) whose callbacks the SDK calls on
each collection: any `MetricReader` attached here (OTLP exporter, Prometheus reader) sees
them. Job latency is published as p50/p95/p99 gauges; exporting the merged histogram itself
needs the exporter's data model directly (OTel has no asynchronous histogram).

Callbacks run on the reader's thread, so they read under `TelemetryStore.lock`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from opentelemetry.metrics import CallbackOptions, Meter, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader

from services.metrics.aggregates import Counters, JobAggregate, TelemetryStore
from services.metrics.catalog import OperatorKind

METER_NAME = "weir.metrics"

_JOB_COUNTERS: dict[str, tuple[str, str]] = {
    # counter attribute: (unit, description)
    "records_in": ("{record}", "Records read by the job's sources"),
    "records_out": ("{record}", "Records written by the job's sinks"),
    "bytes_in": ("By", "Bytes read by the job's sources"),
    "bytes_out": ("By", "Bytes written by the job's sinks"),
    "errors": ("{error}", "Errors of all the job's operators"),
    "warnings": ("{warning}", "Warnings of all the job's operators"),
}


class TelemetryMeters:
    """Observable instruments over a `TelemetryStore`, registered on one meter."""

    def __init__(self, store: TelemetryStore, meter: Meter) -> None:
        self._store = store
        for name, (unit, description) in _JOB_COUNTERS.items():
            meter.create_observable_counter(
                f"weir.job.{name}", callbacks=[self._job_counter(name)], unit=unit, description=description
            )
        for name in ("records_in", "records_out"):
            meter.create_observable_counter(
                f"weir.operator.{name}",
                callbacks=[self._operator_counter(name)],
                unit="{record}",
                description=f"Operator {name.replace('_', ' ')}, over all its subtasks",
            )
        meter.create_observable_gauge(
            "weir.job.throughput",
            callbacks=[self._throughput],
            unit="{record}/s",
            description="Records per second read by the job's sources over the recent window",
        )
        meter.create_observable_gauge(
            "weir.job.backpressure",
            callbacks=[self._backpressure],
            unit="1",
            description="Fraction of time the most backpressured live subtask was blocked on output",
        )
        for quantile in (50, 95, 99):
            meter.create_observable_gauge(
                f"weir.job.latency.p{quantile}",
                callbacks=[self._latency(quantile / 100)],
                unit="ms",
                description=f"p{quantile} of source-to-sink latency over the job's merged histogram",
            )

    def _observe(self, value: Callable[[str, JobAggregate], float]) -> list[Observation]:
        with self._store.lock:
            return [
                Observation(value(job_id, job), {"job_id": job_id})
                for job_id, job in self._store.snapshot_jobs()
            ]

    def _job_counter(self, name: str) -> Callable[[CallbackOptions], Iterable[Observation]]:
        def callback(options: CallbackOptions) -> Iterable[Observation]:
            return self._observe(lambda _, job: float(getattr(job.totals, name)))

        return callback

    def _operator_counter(self, name: str) -> Callable[[CallbackOptions], Iterable[Observation]]:
        def callback(options: CallbackOptions) -> Iterable[Observation]:
            with self._store.lock:
                observations = []
                for job_id, job in self._store.snapshot_jobs():
                    for operator_id, operator in job.operators.items():
                        totals: Counters = operator.totals()
                        attributes = {"job_id": job_id, "operator_id": operator_id}
                        observations.append(Observation(float(getattr(totals, name)), attributes))
                return observations

        return callback

    def _throughput(self, options: CallbackOptions) -> Iterable[Observation]:
        now = self._store.clock()
        return self._observe(lambda _, job: job.rates[OperatorKind.SOURCE].per_second(now))

    def _backpressure(self, options: CallbackOptions) -> Iterable[Observation]:
        now = self._store.clock()
        return self._observe(lambda _, job: job.backpressure(now))

    def _latency(self, quantile: float) -> Callable[[CallbackOptions], Iterable[Observation]]:
        def callback(options: CallbackOptions) -> Iterable[Observation]:
            return self._observe(lambda _, job: job.latency.percentile(quantile))

        return callback


def meter_provider(store: TelemetryStore, readers: Sequence[MetricReader]) -> MeterProvider:
    """A MeterProvider whose readers see the store's aggregates; shut it down on exit."""
    provider = MeterProvider(metric_readers=list(readers))
    TelemetryMeters(store, provider.get_meter(METER_NAME))
    return provider
