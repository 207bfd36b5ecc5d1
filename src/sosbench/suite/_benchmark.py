"""The typed description of one SOS-Bench benchmark, read from a versioned YAML file.

The classes are pydantic dataclasses with ``extra="forbid"``: a suite file (built-in or a plugin's) is
validated strictly, and a misspelt key or a bad value fails with one line naming the file, the benchmark
and the field (``benchmark_from_dict``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, TypeAdapter, ValidationError
from pydantic.dataclasses import dataclass

from sosbench.errors import SosbenchError
from sosbench.suite._livebench import LiveBenchRelease

Factor = Literal["WK", "IF", "Safety"]
Engine = Literal["lm-eval", "livebench"]
TaskSource = Literal["sosbench", "lm-eval"]
FACTORS: tuple[Factor, ...] = ("WK", "IF", "Safety")
ENGINES: tuple[Engine, ...] = ("lm-eval", "livebench")
PROTOCOLS = ("paper", "corrected")
"""paper: the paper's definitions and LiveBench's 2024-07-24 scorers, defects included; corrected: fixed."""

_STRICT = ConfigDict(extra="forbid")


@dataclass(frozen=True, config=_STRICT)
class DatasetSpec:
    """One hub dataset repository and the configs and splits a benchmark reads from it."""

    id: str
    configs: tuple[str | None, ...] = (None,)
    splits: tuple[str, ...] = ("test",)
    revision: str | None = None


@dataclass(frozen=True, config=_STRICT)
class ScoreSpec:
    """How a benchmark score in [0, 1] is read from lm-eval output (see benchmarks.yaml)."""

    keys: tuple[str, ...]
    samples: tuple[str, ...]
    pool: bool = False
    invert: bool = False

    @property
    def metrics(self) -> tuple[str, ...]:
        """The metric names the keys read, in order, without duplicates."""
        return tuple(dict.fromkeys(k.split("/", 1)[1] for k in self.keys))


@dataclass(frozen=True, config=_STRICT)
class LiveBenchSpec:
    """A LiveBench category and its tasks (filled from the release when the suite file names only the
    category)."""

    category: str
    tasks: tuple[str, ...]


@dataclass(frozen=True, config=_STRICT)
class Benchmark:
    """One row of the SOS-Bench table."""

    name: str
    title: str
    factor: Factor
    engine: Engine
    size: int
    metric: str
    datasets: tuple[DatasetSpec, ...]
    tasks: tuple[str, ...]
    corrected_tasks: tuple[str, ...] | None = None
    score: ScoreSpec | None = None
    artifact: tuple[str, ...] = ()
    livebench: LiveBenchSpec | None = None
    gated: bool = False
    plugin: str = "builtin"
    shards: int = 1
    """Default item shards under distributed executors (`sosbench run --executor ray|slurm`); 1 = never
    split."""
    factor_average: bool = False
    """Whether the benchmark counts in its factor's mean (and Overall); a plugin benchmark must opt in."""
    task_source: TaskSource = "lm-eval"
    """Where lm-eval finds ``tasks``: sosbench's include folder or lm-eval's own task index."""
    needs_punkt_tab: bool = False
    """Whether its scorer splits sentences with NLTK punkt_tab (installed offline before a run)."""

    def lm_eval_tasks(self, protocol: str = "paper") -> tuple[str, ...]:
        """The lm-eval task or group names to run under ``protocol``."""
        if protocol == "corrected" and self.corrected_tasks:
            return self.corrected_tasks
        return self.tasks

    def result_keys(self, protocol: str = "paper") -> tuple[str, ...]:
        """Results-JSON keys to read under ``protocol`` (corrected tasks carry a ``_corrected`` suffix)."""
        if self.score is None:
            return ()
        if protocol == "corrected" and self.corrected_tasks:
            rename = dict(zip(self.tasks, self.corrected_tasks, strict=True))
            return tuple(f"{rename.get(t, t)}/{m}" for t, m in (k.split("/", 1) for k in self.score.keys))
        return self.score.keys

    def sample_tasks(self, protocol: str = "paper") -> tuple[str, ...]:
        """Tasks whose per-sample logs hold this benchmark's items under ``protocol``."""
        if self.score is None:
            return ()
        if protocol == "corrected" and self.corrected_tasks:
            rename = dict(zip(self.tasks, self.corrected_tasks, strict=True))
            return tuple(rename.get(t, t) for t in self.score.samples)
        return self.score.samples

    def summary(self) -> dict[str, Any]:
        """The row `sosbench list --format json` prints."""
        return {
            "name": self.name,
            "title": self.title,
            "factor": self.factor,
            "engine": self.engine,
            "dataset": ", ".join(d.id for d in self.datasets),
            "size": self.size,
            "metric": self.metric,
            "tasks": list(self.tasks),
            "datasets": [
                {"id": d.id, "configs": list(d.configs), "splits": list(d.splits), "revision": d.revision}
                for d in self.datasets
            ],
            "gated": self.gated,
        }


_BENCHMARK = TypeAdapter(Benchmark)


def _first_error(exc: ValidationError) -> str:
    """``field.sub: message`` of the first validation error (and how many more there are)."""
    errors = sorted(exc.errors(), key=lambda e: e["type"] != "unexpected_keyword_argument")  # typos first
    first = errors[0]
    field = ".".join(str(part) for part in first["loc"]) or "entry"
    message = "unknown key" if first["type"] == "unexpected_keyword_argument" else first["msg"]
    if first["type"] in ("missing", "missing_argument"):
        message = "missing key"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{field}: {message}{more}"


def _with_release(data: dict[str, Any], release: LiveBenchRelease, where: str) -> dict[str, Any]:
    """A livebench entry naming only its category, completed from the release (datasets, tasks)."""
    section = data.get("livebench")
    if data.get("engine") != "livebench" or not isinstance(section, dict) or "category" not in section:
        return data
    category = section["category"]
    if category not in release.categories:
        raise SosbenchError(
            f"{where}: livebench.category {category!r} is not a category of LiveBench release {release.date} "
            f"(one of {', '.join(release.categories)})"
        )
    spec = release.categories[category]
    filled = {
        "datasets": [
            {"id": f"livebench/{category}", "configs": [None], "splits": ["test"], "revision": spec.revision}
        ],
        "tasks": [f"livebench_{category}"],
        "task_source": "sosbench",
        **data,
    }
    filled["livebench"] = {"tasks": list(spec.tasks), **section}
    return filled


def benchmark_from_dict(
    data: dict[str, Any], where: str, plugin: str = "builtin", release: LiveBenchRelease | None = None
) -> Benchmark:
    """Validate one suite-file entry: an unknown key or a bad value fails with one line naming the field."""
    if not isinstance(data, dict):
        raise SosbenchError(f"{where}: each benchmark must be a mapping of keys, not {type(data).__name__}")
    where = f"{where}: benchmark {data.get('name', '?')!r}"
    if "plugin" in data:
        raise SosbenchError(f"{where}: `plugin` is set by sosbench (the entry point's name): remove it")
    if release is not None:
        data = _with_release(data, release, where)
    try:
        bench = _BENCHMARK.validate_python({**data, "plugin": plugin})
    except ValidationError as exc:
        raise SosbenchError(f"{where}: {_first_error(exc)}") from None
    if bench.engine == "lm-eval" and bench.score is None:
        raise SosbenchError(f"{where}: an lm-eval benchmark needs a `score` section")
    if bench.engine == "livebench" and bench.livebench is None:
        raise SosbenchError(f"{where}: a livebench benchmark needs a `livebench` section")
    return bench
