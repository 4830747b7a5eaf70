"""Benchmarks run once as smoke tests in ``make test`` (timing disabled) and for real in
``make bench``, which prints each group's times as ratios to its baseline."""
