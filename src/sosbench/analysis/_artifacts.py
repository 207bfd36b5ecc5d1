"""The paper's artifacts (package data) joined into one set of results per model by the explicit mapping."""

from __future__ import annotations

import csv
import functools
import io
from dataclasses import dataclass, fields
from importlib.resources import files
from pathlib import Path
from typing import Any

from sosbench._io import read_text, read_yaml
from sosbench.errors import SosbenchError
from sosbench.results import ModelResults, read_livebench_csv, read_wide_csv

ELEUTHER = "eleuther_wandb.csv"
ARENA_HARD = "arena_hard_auto.csv"
LIVEBENCH_GROUPS = "livebench_groups.csv"
LIVEBENCH_TASKS = "livebench_tasks.csv"
MAPPING = "model_mapping.yaml"


def artifacts_dir() -> Path:
    """The packaged artifact folder (a real folder in any regular, unzipped install)."""
    return Path(str(files("sosbench").joinpath("data/artifacts")))


@dataclass(frozen=True)
class MappedModel:
    """One row of model_mapping.yaml: the names of one model in each artifact CSV, and its training."""

    model: str
    eleuther: str | None = None
    arena_hard: str | None = None
    livebench_groups: str | None = None
    livebench_tasks: str | None = None
    base: str | None = None
    stage: str | None = None
    sft_parent: str | None = None
    po_method: str | None = None
    sft_examples: int | None = None
    resolution: str | None = None


@dataclass(frozen=True)
class ArenaScore:
    """An Arena-Hard-Auto row: win rate (%) against gpt-4-0314 and its bootstrap 2.5/97.5% quantiles."""

    score: float
    low: float | None
    high: float | None


def csv_rows(path: Path) -> list[dict[str, str]]:
    """The rows of an artifact CSV, read through ``sosbench._io`` (a regular file of bounded size)."""
    return list(csv.DictReader(io.StringIO(read_text(path, "CSV file"), newline="")))


def load_mapping(path: Path | None = None) -> list[MappedModel]:
    path = path or artifacts_dir() / MAPPING
    data = read_yaml(path, "model mapping (YAML)") or {}
    allowed = {f.name for f in fields(MappedModel)}
    out = []
    for entry in data.get("models", []):
        unknown = set(entry) - allowed
        if unknown or "model" not in entry:
            raise SosbenchError(
                f"{path}: entry {entry.get('model', '?')!r} has unknown keys {sorted(unknown)}"
            )
        out.append(MappedModel(**entry))
    names = [m.model for m in out]
    if len(set(names)) != len(names):
        raise SosbenchError(f"{path}: a model appears twice: keep one entry per model")
    return out


def read_arena_hard(path: Path) -> dict[str, ArenaScore]:
    """model -> score from an Arena-Hard-style CSV (columns model, score[, rating_q025, rating_q975])."""
    rows = csv_rows(path)
    if not rows or "model" not in rows[0] or "score" not in rows[0]:
        raise SosbenchError(f"{path}: not an Arena-Hard score CSV (needs `model` and `score` columns)")

    def number(row: dict[str, Any], key: str) -> float | None:
        text = (row.get(key) or "").strip()
        if not text:
            return None
        try:
            return float(text)
        except ValueError:
            raise SosbenchError(f"{path}: {row['model']} {key} is {text!r}, not a number") from None

    out = {}
    for row in rows:
        score = number(row, "score")
        if score is not None:
            out[row["model"]] = ArenaScore(score, number(row, "rating_q025"), number(row, "rating_q975"))
    return out


@dataclass(frozen=True)
class PaperData:
    """The artifact models as sosbench results, with their Arena-Hard scores and LiveBench averages."""

    models: list[ModelResults]
    mapping: list[MappedModel]
    arena_hard: dict[str, ArenaScore]
    livebench_average: dict[str, float]
    folder: Path


def _livebench_average(path: Path) -> dict[str, float]:
    return {r["model"]: float(r["average"]) / 100.0 for r in csv_rows(path) if r.get("average")}


@functools.cache
def load_paper(folder: Path | None = None) -> PaperData:
    """Every mapped artifact model: Eleuther benchmarks + LiveBench categories, keyed by display name."""
    folder = folder or artifacts_dir()
    mapping = load_mapping(folder / MAPPING)
    eleuther = read_wide_csv(folder / ELEUTHER)
    livebench = read_livebench_csv(folder / LIVEBENCH_GROUPS)
    arena = read_arena_hard(folder / ARENA_HARD)
    averages = _livebench_average(folder / LIVEBENCH_GROUPS)
    models, arena_by_model, avg_by_model = [], {}, {}
    for m in mapping:
        results = ModelResults(m.model)
        if m.eleuther:
            if m.eleuther not in eleuther:
                raise SosbenchError(f"{folder / MAPPING}: {m.model}: no row {m.eleuther!r} in {ELEUTHER}")
            results.benchmarks.update(eleuther[m.eleuther].benchmarks)
            results.sources.append(f"{ELEUTHER}:{m.eleuther}")
        if m.livebench_groups:
            if m.livebench_groups not in livebench:
                raise SosbenchError(
                    f"{folder / MAPPING}: {m.model}: no row {m.livebench_groups!r} in {LIVEBENCH_GROUPS}"
                )
            results.benchmarks.update(livebench[m.livebench_groups])
            results.sources.append(f"{LIVEBENCH_GROUPS}:{m.livebench_groups}")
            avg_by_model[m.model] = averages[m.livebench_groups]
        if m.arena_hard:
            if m.arena_hard not in arena:
                raise SosbenchError(f"{folder / MAPPING}: {m.model}: no row {m.arena_hard!r} in {ARENA_HARD}")
            arena_by_model[m.model] = arena[m.arena_hard]
        models.append(results)
    return PaperData(models, mapping, arena_by_model, avg_by_model, folder)
