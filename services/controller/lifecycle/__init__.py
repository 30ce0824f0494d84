"""The job state machine: the transition table, one small module per state, and the
supervisor that drives one job through them."""
