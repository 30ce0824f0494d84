"""Checkpoints from the controller's side: coordinating them per job, choosing what a job
restores from, and retention."""
