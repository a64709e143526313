"""Benchmarks for django-uploadkit (``make bench``, ``make bench-quick``): see BENCHMARKS.md."""
