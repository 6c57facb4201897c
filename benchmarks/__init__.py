"""Benchmarks: offline replay against bare json.loads, and the live suite."""
