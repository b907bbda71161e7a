"""Benchmark suite of mixedmodels (not part of the package): ``python -m benchmarks``."""
