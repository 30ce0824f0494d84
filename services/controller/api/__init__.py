"""The controller's gRPC servicers: the public API (pipelines, jobs, checkpoints, workers)
and the internal control plane the workers call."""
