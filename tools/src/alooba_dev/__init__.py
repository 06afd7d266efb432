"""Developer tooling: the local stack used by `make run`, the end-to-end tests and benchmarks."""
