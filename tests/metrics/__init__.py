"""Tests of the metrics service (services/metrics)."""
