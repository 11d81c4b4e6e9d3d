"""safe-alfred: a benchmark for the safety of embodied planners (the recognition-action gap)."""

__version__ = "0.1.0"

BENCHMARK_VERSION = "1.0"
