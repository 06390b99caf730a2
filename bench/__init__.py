"""Benchmarks that print figures (never pass/fail). `python -m bench` gathers them into one table.

Each `bench_*.py` also runs alone (`python bench/bench_<name>.py --help`) and exposes `main(argv)`,
which prints its own table and returns its figures for the aggregator (`bench/__main__.py`).
"""
