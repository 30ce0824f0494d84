"""The worker: hosts task slots, runs subtasks of the dataflow, streams telemetry."""
