"""The controller: pipelines, jobs and their state machine, scheduling, the only writer of the store."""
