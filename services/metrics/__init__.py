"""The metrics service: ingests the telemetry workers stream, aggregates it, and answers the
metric, output, error and log queries of the Jobs API (`JobMetricsService`, `JobLogService`)
and the controller's counter look-ups (`TelemetryService.SummarizeJobs`).

Entry point: `services.metrics.server.run_metrics(MetricsConfig(...))`.
"""
