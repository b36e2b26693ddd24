"""Benchmarks, each measuring its baseline in the same run: `python -m bench.<name>`."""
