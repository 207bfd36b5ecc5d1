"""The typed description of one SOS-Bench benchmark, read from a versioned YAML file."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Literal

from sosbench.errors import SosbenchError

Factor = Literal["WK", "IF", "Safety"]
Engine = Literal["lm-eval", "livebench"]
FACTORS: tuple[Factor, ...] = ("WK", "IF", "Safety")
ENGINES: tuple[Engine, ...] = ("lm-eval", "livebench")
PROTOCOLS = ("paper", "corrected")


@dataclass(frozen=True)
class DatasetSpec:
    """One hub dataset repository and the configs and splits a benchmark reads from it."""

    id: str
    configs: tuple[str | None, ...] = (None,)
    splits: tuple[str, ...] = ("test",)
    revision: str | None = None

    @property
    def owner_name(self) -> tuple[str, str]:
        owner, _, name = self.id.partition("/")
        return owner, name


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class LiveBenchSpec:
    """A LiveBench category and its tasks."""

    category: str
    tasks: tuple[str, ...]


@dataclass(frozen=True)
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
    """Default item shards under distributed executors (`sosbench run --executor ray|slurm`); 1 = never split."""

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
            rename = dict(zip(self.tasks, self.corrected_tasks))
            return tuple(
                f"{rename.get(t, t)}/{m}" for t, m in (k.split("/", 1) for k in self.score.keys)
            )
        return self.score.keys

    def sample_tasks(self, protocol: str = "paper") -> tuple[str, ...]:
        """Tasks whose per-sample logs hold this benchmark's items under ``protocol``."""
        if self.score is None:
            return ()
        if protocol == "corrected" and self.corrected_tasks:
            rename = dict(zip(self.tasks, self.corrected_tasks))
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


def _strict(cls: type, data: dict[str, Any], where: str) -> dict[str, Any]:
    allowed = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise SosbenchError(f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})")
    return data


def _tuple(value: Any) -> tuple[Any, ...]:
    return tuple(value) if isinstance(value, (list, tuple)) else (value,)


def benchmark_from_dict(data: dict[str, Any], where: str, plugin: str = "builtin") -> Benchmark:
    """Validate one YAML entry; unknown keys and bad factors fail with the entry's name."""
    name = data.get("name", "?")
    where = f"{where}: benchmark {name!r}"
    _strict(Benchmark, data, where)
    try:
        datasets = tuple(
            DatasetSpec(
                **{
                    k: _tuple(v) if k in ("configs", "splits") else v
                    for k, v in _strict(DatasetSpec, d, where).items()
                }
            )
            for d in data.get("datasets", [])
        )
        score = data.get("score")
        livebench = data.get("livebench")
        bench = Benchmark(
            name=data["name"],
            title=data["title"],
            factor=data["factor"],
            engine=data["engine"],
            size=int(data["size"]),
            metric=data["metric"],
            datasets=datasets,
            tasks=_tuple(data["tasks"]),
            corrected_tasks=_tuple(data["corrected_tasks"]) if data.get("corrected_tasks") else None,
            score=ScoreSpec(
                keys=_tuple(score["keys"]),
                samples=_tuple(score["samples"]),
                pool=bool(score.get("pool", False)),
                invert=bool(score.get("invert", False)),
            )
            if score
            else None,
            artifact=_tuple(data.get("artifact", ())),
            livebench=LiveBenchSpec(livebench["category"], _tuple(livebench["tasks"])) if livebench else None,
            gated=bool(data.get("gated", False)),
            plugin=plugin,
            shards=int(data.get("shards", 1)),
        )
    except KeyError as exc:
        raise SosbenchError(f"{where}: missing key {exc.args[0]!r}") from None
    if bench.factor not in FACTORS:
        raise SosbenchError(f"{where}: factor must be one of {', '.join(FACTORS)}, not {bench.factor!r}")
    if bench.engine not in ENGINES:
        raise SosbenchError(f"{where}: engine must be one of {', '.join(ENGINES)}, not {bench.engine!r}")
    if bench.engine == "lm-eval" and bench.score is None:
        raise SosbenchError(f"{where}: an lm-eval benchmark needs a `score` section")
    if bench.engine == "livebench" and bench.livebench is None:
        raise SosbenchError(f"{where}: a livebench benchmark needs a `livebench` section")
    return bench
