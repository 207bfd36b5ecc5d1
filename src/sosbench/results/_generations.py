"""Degenerate generations: empty, very short or repetitive answers, and answers no rule can parse.

A model that answers nothing, a few characters, or the same phrase over and over still gets a score, and
the score alone does not say why it is low (an instruct model run without its chat template returned
empty text for half of IFEval in one user's run). This check reads the generations of a run folder's
lm-eval samples logs, per benchmark, and counts:

- **empty**: nothing but whitespace;
- **short**: fewer than ``SHORT_WORDS`` words (and not empty);
- **repetitive**: at least ``REPEAT_MIN_WORDS`` words of which fewer than ``REPEAT_DISTINCT`` of the word
  4-grams are distinct (a loop such as "I'm sorry. I'm sorry. ...");
- **unparsed**: for tasks whose scorer extracts the answer with a fixed format (MATH's "Final Answer: The
  final answer is ...", LiveBench AMPS_Hard's ``\\boxed{}`` and web_of_lies_v2's ``**...**``), answers
  in which that format is absent, so the scorer finds no answer at all.

A benchmark is flagged when empty + short + repetitive reach ``FLAG_RATE`` of its generations, or the
unparsed ones reach ``FLAG_RATE`` of the answers that have a format rule (docs/scoring.md). Multiple-choice
benchmarks (scored by loglikelihood) generate nothing and are not checked.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sosbench._io import iter_jsonl
from sosbench.results._model import ModelResults
from sosbench.rundir import DONE, samples_files

SHORT_WORDS = 3
REPEAT_MIN_WORDS = 24
REPEAT_DISTINCT = 0.5
FLAG_RATE = 0.2

# The answer formats the scorers extract (quoted from the task definitions and LiveBench's rules,
# docs/livebench-scoring.md): an answer without its format is unparsed. Keyed by the doc's task (LiveBench)
# or the benchmark (MATH, whose docs have no task field). MATH appends the end sequence itself.
ANSWER_FORMATS: dict[str, tuple[str, re.Pattern[str]]] = {
    "math-lvl5": (
        "I hope it is correct.",
        re.compile(r"Final Answer: The final answer is(.*?)\. I hope it is correct\.", re.DOTALL),
    ),
    "AMPS_Hard": ("", re.compile(r"\\boxed\{")),
    "web_of_lies_v2": ("", re.compile(r"\*\*.+?\*\*", re.DOTALL)),
}


@dataclass(frozen=True)
class GenerationCheck:
    """One benchmark's generations of one model, counted (see the module doc)."""

    model: str
    benchmark: str
    generations: int
    empty: int
    short: int
    repetitive: int
    with_format: int
    unparsed: int

    @property
    def degenerate(self) -> int:
        return self.empty + self.short + self.repetitive

    @property
    def flagged(self) -> bool:
        degenerate = self.generations and self.degenerate / self.generations >= FLAG_RATE
        unparsed = self.with_format and self.unparsed / self.with_format >= FLAG_RATE
        return bool(degenerate or unparsed)

    def describe(self) -> str:
        """One line: what was found, in counts and rates."""
        counted = (("empty", self.empty), ("very short", self.short), ("repetitive", self.repetitive))
        parts = [f"{count} {label}" for label, count in counted if count]
        found = (
            f"{self.degenerate} of {self.generations} generations degenerate ({', '.join(parts)})"
            if parts
            else f"{self.generations} generations"
        )
        if self.with_format:
            found += f"; {self.unparsed} of {self.with_format} answers unparsed (no answer format found)"
        return f"{self.model} {self.benchmark}: {found}"

    def to_json(self) -> dict[str, Any]:
        return {
            "benchmark": self.benchmark,
            "generations": self.generations,
            "empty": self.empty,
            "short": self.short,
            "repetitive": self.repetitive,
            "with_answer_format": self.with_format,
            "unparsed": self.unparsed,
            "flagged": self.flagged,
        }


def classify(text: str) -> str | None:
    """``empty``, ``short``, ``repetitive`` or None (a usable-looking generation)."""
    words = text.split()
    if not words:
        return "empty"
    if len(words) < SHORT_WORDS:
        return "short"
    if len(words) >= REPEAT_MIN_WORDS:
        grams = [tuple(words[i : i + 4]) for i in range(len(words) - 3)]
        if len(set(grams)) / len(grams) < REPEAT_DISTINCT:
            return "repetitive"
    return None


def _generation(row: Any) -> str | None:
    """The generated text of a samples-log row, or None for a loglikelihood request."""
    if not isinstance(row, dict):
        return None
    args = row.get("arguments")
    first = next(iter(args.values()), None) if isinstance(args, dict) else None
    if isinstance(args, list) and args:
        first = args[0]
    gen_kwargs = (first.get("arg_1") if isinstance(first, dict) else first[1]) if first else None
    if not isinstance(gen_kwargs, dict):
        return None
    resps = row.get("resps")
    if isinstance(resps, list) and resps and isinstance(resps[0], list) and resps[0]:
        text = resps[0][0]
        return text if isinstance(text, str) else None
    return None


def _generations(folder: Path) -> Iterator[tuple[str, str]]:
    """(task key, text) of every generation in a benchmark folder's samples logs."""
    for path in samples_files(folder):
        for _, row in iter_jsonl(path, "lm-eval samples log"):
            text = _generation(row)
            if text is not None:
                doc = row.get("doc")
                yield str(doc.get("task") or "") if isinstance(doc, dict) else "", text


def check_generations(model: ModelResults) -> list[GenerationCheck]:
    """The generation check of every benchmark of ``model`` read from a run folder (others are skipped)."""
    checks = []
    for name, result in model.benchmarks.items():
        folder = Path(result.source).parent
        if (folder / DONE).is_file():  # a results file outside a run folder may mix benchmarks' logs
            check = _check_folder(model.model, name, folder)
            if check is not None:
                checks.append(check)
    return checks


def _check_folder(model: str, name: str, folder: Path) -> GenerationCheck | None:
    counts = {"empty": 0, "short": 0, "repetitive": 0}
    total = with_format = unparsed = 0
    for task, text in _generations(folder):
        total += 1
        kind = classify(text)
        if kind is not None:
            counts[kind] += 1
        rule = ANSWER_FORMATS.get(task) or ANSWER_FORMATS.get(name)
        if rule is not None:
            with_format += 1
            unparsed += rule[1].search(text + rule[0]) is None
    if not total:
        return None
    return GenerationCheck(
        model, name, total, counts["empty"], counts["short"], counts["repetitive"], with_format, unparsed
    )


def flag_lines(checks: list[GenerationCheck]) -> list[str]:
    """One line per flagged benchmark, for `sosbench score` and the report."""
    return [
        f"degenerate generations: {c.describe()} (flagged at {FLAG_RATE:.0%} or more; docs/scoring.md)"
        for c in checks
        if c.flagged
    ]
