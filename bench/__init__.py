"""Benchmarks, and the county-scale partnership they run on (bench/data.py)."""
