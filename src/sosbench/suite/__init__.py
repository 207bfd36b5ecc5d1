"""The SOS-Bench registry: which benchmarks exist, their factor, data and how each is scored."""

from sosbench.suite._benchmark import (
    ENGINES,
    FACTORS,
    PROTOCOLS,
    Benchmark,
    DatasetSpec,
    LiveBenchSpec,
    ScoreSpec,
)
from sosbench.suite._registry import Registry, UnknownNameError, suggest
from sosbench.suite._suite import benchmarks, get_benchmark, registry, select

__all__ = [
    "ENGINES",
    "FACTORS",
    "PROTOCOLS",
    "Benchmark",
    "DatasetSpec",
    "LiveBenchSpec",
    "Registry",
    "ScoreSpec",
    "UnknownNameError",
    "benchmarks",
    "get_benchmark",
    "registry",
    "select",
    "suggest",
]
