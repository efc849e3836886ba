"""The benchmark harness (operations.md §5): ``make bench`` = ``python -m bench``. See ``bench.run``."""
