"""The run-folder contract: what `sosbench run` writes where, and what its markers hold.

``run`` writes a run folder only through this module and ``results`` and ``validate`` read it only
through it, so a file name or a marker key has one spelling, and a misspelt key fails where it is
written, not where someone later reads the folder (docs/results-layout.md)::

    DIR/manifest.json                     the run (``Manifest``)
    DIR/<benchmark>/results.json          lm-eval's results JSON for that benchmark's tasks
    DIR/<benchmark>/samples_<task>.jsonl  lm-eval's per-sample logs
    DIR/<benchmark>/livebench_scores.jsonl    LiveBench benchmarks: one score per question
    DIR/<benchmark>/done.json             written last: the benchmark is finished (``DoneMarker``)
    DIR/.<benchmark>.partial/             a benchmark in flight
    DIR/.shards/<benchmark>/<k>-of-<n>/   one item shard, laid out as a benchmark folder
    DIR/.submitit/                        the Slurm executor's pickles and logs

A benchmark is built in its ``.partial`` folder and renamed into place only after its ``done.json`` is
written, so a kill -9 never leaves a half-written benchmark that looks finished.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError

from sosbench._io import read_json_object, write_json_atomic, write_jsonl_atomic
from sosbench.errors import SosbenchError, from_validation

MANIFEST = "manifest.json"
RESULTS = "results.json"
DONE = "done.json"
LIVEBENCH_SCORES = "livebench_scores.jsonl"
SHARDS = ".shards"
SUBMITIT = ".submitit"
SCHEMA_VERSION: Final = 1
"""The manifest's ``schema_version``: raised only when a reader of today could misread a new folder."""

_SAMPLES_PREFIX = "samples_"
SAMPLES_GLOB = f"{_SAMPLES_PREFIX}*.jsonl"
_SHARD_NAME = re.compile(r"(\d+)-of-(\d+)")


def samples_name(task: str) -> str:
    """The per-sample log of ``task`` in a benchmark folder (lm-eval's name without its timestamp)."""
    return f"{_SAMPLES_PREFIX}{task}.jsonl"


def task_of_samples(path: Path) -> str:
    """The task a ``samples_<task>.jsonl`` file logs."""
    return path.stem[len(_SAMPLES_PREFIX) :]


def shard_name(shard: int, shards: int) -> str:
    """The folder of shard ``shard`` of ``shards`` under ``.shards/<benchmark>/``."""
    return f"{shard}-of-{shards}"


def is_shard_name(name: str) -> bool:
    return _SHARD_NAME.fullmatch(name) is not None


def utc_now() -> str:
    """The timestamp written into manifests and done markers (UTC, second resolution)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


ProtocolName = Literal["paper", "corrected"]
"""The task definitions a run used (``sosbench.suite.PROTOCOLS``)."""


class _Contract(BaseModel):
    """Frozen and strict: an unknown key or a wrong type fails on write and on read alike."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class DoneMarker(_Contract):
    """``<benchmark>/done.json``: written last by `sosbench run`, it makes a benchmark (or shard) finished."""

    benchmark: str
    config_hash: str
    seconds: float | None = None
    finished: str | None = None
    shard: int | None = None
    """Set in a shard's marker, with ``shards``; a merged benchmark's marker has ``shards`` alone."""
    shards: int | None = None


class DatasetSource(_Contract):
    """Where a benchmark's dataset came from (``Manifest.datasets``); a resume must read the same revision."""

    configs: list[str | None]
    splits: list[str]
    revision: str | None
    source: Literal["mirror", "hub"]
    data_dir: str | None = None
    """The mirror it was read from (older folders recorded only the run's ``data_dir``)."""


class SandboxRecord(_Contract):
    """How LiveBench coding answers were sandboxed (``Manifest.livebench_sandbox_limits``)."""

    mode: str
    budget: Literal["cgroup", "rlimit"] | None
    memory_bytes: int
    processes: int


class RunSettings(_Contract):
    """The manifest's ``config``: the settings its configuration hash covers (``RunConfig.hashed``)."""

    model: str | None = None
    model_args: dict[str, JsonValue] | None = None
    protocol: str | None = None
    limit: Annotated[int, Field(gt=0)] | Annotated[float, Field(gt=0)] | None = None
    """Items per task (an int) or a fraction of them (a float below 1); None: every item."""
    apply_chat_template: bool | str | None = None
    gen_kwargs: str | None = None


class Manifest(_Contract):
    """``manifest.json``: the run's versions, configuration, hash, datasets and timings.

    Every field but the schema version has a default, so folders written before a field existed still read.
    """

    schema_version: Literal[1] = SCHEMA_VERSION
    sosbench: str | None = None
    lm_eval: str | None = None
    torch: str | None = None
    transformers: str | None = None
    datasets_version: str | None = None
    protocol: ProtocolName = "paper"
    livebench_sandbox: str | None = None
    livebench_sandbox_limits: SandboxRecord | None = None
    model: str | None = None
    model_args: dict[str, JsonValue] | None = None
    model_name: str | None = None
    config: RunSettings | None = None
    config_hash: str | None = None
    data_dir: str | None = None
    benchmarks: list[str] | None = None
    datasets: dict[str, DatasetSource] | None = None
    chat_template_sha256: str | None = None
    started: str | None = None
    finished: str | None = None
    timings: dict[str, float] | None = None

    @property
    def limit(self) -> int | float | None:
        """The run's ``--limit`` (None: every item)."""
        return None if self.config is None else self.config.limit


def _parse(model: type[_Contract], path: Path, what: str, fix: str) -> Any:
    try:
        return model.model_validate(read_json_object(path, what))
    except ValidationError as exc:
        raise from_validation(exc, str(path), fix) from None


def read_manifest(path: Path) -> Manifest:
    """A run's manifest, or one error line naming the file and the first bad key."""
    parsed: Manifest = _parse(Manifest, path, "run manifest", "restore it or rerun `sosbench run`")
    return parsed


def read_done(path: Path, benchmark: str) -> DoneMarker:
    """A done marker; garbage or another benchmark's marker means the folder cannot be trusted."""
    redo = f"delete {path.parent} and rerun `sosbench run` to redo {benchmark}"
    marker: DoneMarker = _parse(DoneMarker, path, "done marker", redo)
    if marker.benchmark != benchmark:
        raise SosbenchError(f"{path}: marks benchmark {marker.benchmark!r}, not {benchmark!r}: {redo}")
    return marker


@dataclass(frozen=True)
class RunDir:
    """A run folder (or a benchmark's ``.shards/<benchmark>`` folder, which holds shards the same way)."""

    root: Path
    shards_of: str | None = None
    """Set for a ``.shards/<benchmark>`` folder: the benchmark its shards' done markers name."""

    @property
    def manifest(self) -> Path:
        return self.root / MANIFEST

    @property
    def submitit(self) -> Path:
        return self.root / SUBMITIT

    def benchmark(self, name: str) -> Path:
        return self.root / name

    def results(self, name: str) -> Path:
        return self.benchmark(name) / RESULTS

    def done(self, name: str) -> Path:
        return self.benchmark(name) / DONE

    def livebench_scores(self, name: str) -> Path:
        return self.benchmark(name) / LIVEBENCH_SCORES

    def partial(self, name: str) -> Path:
        return self.root / f".{name}.partial"

    def shards(self, benchmark: str) -> RunDir:
        """The folder of ``benchmark``'s shards, each named ``shard_name(k, n)``."""
        return RunDir(self.root / SHARDS / benchmark, shards_of=benchmark)

    def read_manifest(self) -> Manifest:
        return read_manifest(self.manifest)

    def write_manifest(self, manifest: Manifest) -> None:
        write_json_atomic(self.manifest, manifest.model_dump(mode="json"))

    def read_done(self, name: str) -> DoneMarker:
        """The done marker of benchmark (or shard folder) ``name``, which must name its benchmark."""
        return read_done(self.done(name), self.shards_of or name)

    def is_done(self, name: str, config_hash: str) -> bool:
        """Finished under ``config_hash``; a damaged marker is not finished (the unit is redone)."""
        try:
            return self.done(name).exists() and self.read_done(name).config_hash == config_hash
        except SosbenchError:
            return False

    def holds_results(self) -> bool:
        """Whether any benchmark or shard here finished (has its done marker), whatever its configuration."""
        return any(self.root.glob(f"*/{DONE}")) or any(self.root.glob(f"{SHARDS}/*/*/{DONE}"))

    def start(self, name: str) -> Path:
        """A fresh staging folder for one benchmark (a leftover from a killed run is discarded)."""
        staging = self.partial(name)
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        return staging

    def finish(self, name: str, marker: DoneMarker) -> Path:
        """Write the done marker into the staging folder, then move it into place."""
        staging = self.partial(name)
        write_json_atomic(staging / DONE, marker.model_dump(mode="json", exclude_none=True))
        final = self.benchmark(name)
        if final.exists():
            shutil.rmtree(final)
        staging.rename(final)
        return final

    def clear_partials(self) -> None:
        for leftover in self.root.glob(".*.partial"):
            shutil.rmtree(leftover, ignore_errors=True)

    def clear(self) -> None:
        """Remove a previous run's files: only what sosbench writes here, nothing else in the folder."""
        self.manifest.unlink(missing_ok=True)
        self.clear_partials()
        shutil.rmtree(self.root / SHARDS, ignore_errors=True)
        for child in self.root.iterdir():
            if child.is_dir() and (child / DONE).exists():
                shutil.rmtree(child)


def write_samples(folder: Path, task: str, rows: Iterable[Mapping[str, Any]], default: Any = None) -> None:
    """lm-eval's per-sample log of ``task`` in a benchmark (or staging) folder, one JSON object per line."""
    write_jsonl_atomic(folder / samples_name(task), rows, default=default)


def samples_files(folder: Path) -> list[Path]:
    """The per-sample logs of a benchmark or shard folder, in name order."""
    return sorted(folder.glob(SAMPLES_GLOB))
