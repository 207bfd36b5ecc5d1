"""The judge benchmarks sosbench runs: Arena-Hard-Auto v0.1 and v2.0, their data and their file layouts.

A benchmark fixes the questions and baseline answers that ship with sosbench (``data/<folder>/``), the
baseline of each question category, the default judge template and the layout of its judgment files:

* **arena-hard-v0.1**: 500 questions, one category, gpt-4-0314 as the baseline; judgment lines
  ``{question_id, model, judge, games: [{user_prompt, judgment, score}, ...]}``; a game without a verdict
  is left out on its own.
* **arena-hard-v2.0**: 750 questions, ``hard_prompt`` (500, against o3-mini-2025-01-31) and
  ``creative_writing`` (250, against gemini-2.0-flash-001, whose answers are not shipped: they are not in
  the official repository's history); judgment lines ``{uid, category, judge, model, baseline, games:
  [{score, judgment: {answer}, prompt}, ...]}``; a question is left out whole when either of its games has
  no verdict. Baselines per category come from ``data/judge/arena-hard-v2.0/categories.yaml``.

A bench folder's benchmark is read from its files (:func:`detect_benchmark`) unless ``--benchmark`` names
it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from sosbench._io import iter_jsonl, read_json, read_text, read_yaml
from sosbench.errors import SosbenchError
from sosbench.judge._templates import data_file

V01 = "arena-hard-v0.1"
V20 = "arena-hard-v2.0"


@dataclass(frozen=True)
class Category:
    """A question category of a benchmark: its baseline and the judge's system prompt for it."""

    name: str
    baseline: str
    system_prompt: str  # "" for v0.1: the template's own prompt is used


@dataclass(frozen=True)
class Benchmark:
    """One judge benchmark (see the module docstring)."""

    name: str
    data: str  # folder under the package's data/
    packaged_models: tuple[str, ...]
    categories: tuple[Category, ...]
    template: str  # the default judge template
    per_question: bool  # v2.0: a question counts only with both games read (and its lines say so)

    def category(self, name: str) -> Category:
        for category in self.categories:
            if category.name == name:
                return category
        if len(self.categories) == 1:  # v0.1 has one baseline for any category a question file names
            return self.categories[0]
        known = ", ".join(c.name for c in self.categories)
        raise SosbenchError(f"{self.name} has no question category {name!r} (it has {known})")

    @property
    def main_categories(self) -> tuple[str, ...]:
        """The categories the shipped questions use, in the order they are reported."""
        return tuple(dict.fromkeys(q for q in _question_categories(self.data)))

    def baseline_label(self) -> str:
        """The baselines as one string (the judge key of a folder records it)."""
        if len(self.categories) == 1:
            return self.categories[0].baseline
        return ",".join(f"{c}:{self.category(c).baseline}" for c in self.main_categories)


@functools.cache
def _question_categories(data: str) -> tuple[str, ...]:
    rows = iter_jsonl(data_file(data, "question.jsonl"), "questions file")
    return tuple(str(row.get("category", V01)) for _, row in rows)


@functools.cache
def _v2_categories() -> tuple[Category, ...]:
    folder = data_file("judge", V20)
    table = read_yaml(folder / "categories.yaml", "judge categories file")["categories"]
    return tuple(
        Category(name, str(entry["baseline"]), read_text(folder / str(entry["system_prompt"])))
        for name, entry in table.items()
    )


@functools.cache
def benchmarks() -> dict[str, Benchmark]:
    """The benchmarks by name."""
    v01 = Benchmark(
        V01,
        "arena_hard",
        ("gpt-4-0314", "gpt-4-0613", "gpt-3.5-turbo-0125"),
        (Category(V01, "gpt-4-0314", ""),),
        "sos-multicriteria",
        per_question=False,
    )
    v20 = Benchmark(V20, "arena_hard_v2", ("o3-mini-2025-01-31",), _v2_categories(), V20, per_question=True)
    return {v01.name: v01, v20.name: v20}


def get_benchmark(name: str) -> Benchmark:
    """A benchmark by name; an unknown one is one error line listing the known ones."""
    known = benchmarks()
    if name not in known:
        raise SosbenchError(f"unknown --benchmark {name!r}: use {' or '.join(known)}")
    return known[name]


def benchmark_of_record(record: dict) -> str:
    """The benchmark whose layout a question, answer or judgment line follows (v2.0 lines carry ``uid``
    and a v2.0 category; v0.1's carry ``question_id`` or the v0.1 category)."""
    category = record.get("category")
    if isinstance(category, str) and category != V01:
        return V20 if category in {c.name for c in benchmarks()[V20].categories} else V01
    if "games" in record:  # a judgment line: v2.0's have uid and baseline, v0.1's question_id
        return V20 if "uid" in record and "baseline" in record else V01
    return V01


def detect_benchmark(root: Path) -> Benchmark:
    """The benchmark of a bench folder, from its question file (else its judgments); v0.1 when it has none.

    Only the first line of one file is read: the layouts differ in every line.
    """
    candidates = [root / "question.jsonl", *sorted(root.glob("model_judgment/*/*.jsonl"))]
    for path in candidates:
        record = _first_record(path)
        if record is not None:
            return benchmarks()[benchmark_of_record(record)]
    return benchmarks()[V01]


def detect_judgments(folder: Path) -> Benchmark:
    """The benchmark of a judge's folder: its key file, else its first judgment line."""
    meta = folder / "sosbench-judge.json"
    if meta.is_file():
        try:
            key = read_json(meta, "judge key file")
        except SosbenchError:
            key = None  # the full readers say what is wrong with the file
        name = key.get("benchmark") if isinstance(key, dict) else None
        if isinstance(name, str) and name in benchmarks():
            return benchmarks()[name]
    for path in sorted(folder.glob("*.jsonl")):
        record = _first_record(path)
        if record is not None:
            return benchmarks()[benchmark_of_record(record)]
    return benchmarks()[V01]


def _first_record(path: Path) -> dict | None:
    if not path.is_file():
        return None
    try:
        first = next(iter_jsonl(path, "judgments file"), None)
    except SosbenchError:
        return None  # the full readers say what is wrong with the file
    return first[1] if first else None
