"""The Nexmark benchmark's event generator, vectorized (see `generator`)."""
