"""Benchmarks: `make bench` runs `tests.bench.run`."""
