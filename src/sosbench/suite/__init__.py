"""The SOS-Bench registry: which benchmarks exist, their factor, data and how each is scored."""

from sosbench._registry import Registry, UnknownNameError, suggest
from sosbench.suite._benchmark import (
    ENGINES,
    FACTORS,
    PROTOCOLS,
    Benchmark,
    DatasetSpec,
    LiveBenchSpec,
    ScoreSpec,
)
from sosbench.suite._livebench import (
    LiveBenchCategory,
    LiveBenchRelease,
    livebench_release,
    livebench_releases,
)
from sosbench.suite._suite import benchmarks, get_benchmark, read_suite_file, registry, select, suite_files

__all__ = [
    "ENGINES",
    "FACTORS",
    "PROTOCOLS",
    "Benchmark",
    "DatasetSpec",
    "LiveBenchCategory",
    "LiveBenchRelease",
    "LiveBenchSpec",
    "Registry",
    "ScoreSpec",
    "UnknownNameError",
    "benchmarks",
    "get_benchmark",
    "livebench_release",
    "livebench_releases",
    "read_suite_file",
    "registry",
    "select",
    "suggest",
    "suite_files",
]
