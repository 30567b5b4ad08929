"""Benchmarks: `make bench` runs them all on this machine and writes docs/BENCHMARKS.md."""
