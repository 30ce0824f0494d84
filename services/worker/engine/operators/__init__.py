"""The operators a task runs: sources, transforms and sinks, all on Arrow record batches."""
