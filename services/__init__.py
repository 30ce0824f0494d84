"""Weir's services: controller, worker, metrics and the REST gateway, plus the `weir` CLI."""
