"""lm-eval's per-sample logs (``samples_<task>[_<timestamp>].jsonl``): per-item outcomes, ids and prompts.

One log is read once per task, whatever number of its metrics a benchmark averages (IFEval's four); each
item keeps lm-eval's ``doc_id`` (as ``task:doc_id``) and its prompt's hash, so two runs can be paired item
by item and refused when the same item was asked differently (`sosbench compare`).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sosbench._io import iter_jsonl
from sosbench.errors import SosbenchError
from sosbench.results._item_view import choice_texts, fold_prompt, instructions
from sosbench.results._model import Items
from sosbench.results._schema import check_score
from sosbench.rundir import samples_name, task_of_samples

_TIMESTAMP = re.compile(r"_\d{4}-\d{2}-\d{2}T[\d\-.:]+$")


def find_samples(folder: Path, task: str, stem_suffix: str = "") -> Path | None:
    """``samples_<task>.jsonl`` (run folder) or lm-eval's ``samples_<task>_<timestamp>.jsonl``."""
    exact = folder / samples_name(f"{task}{stem_suffix}")
    if exact.exists():  # whatever it is: a FIFO or a device is refused by the reader, not skipped
        return exact
    if stem_suffix:
        return None
    stamped = sorted(
        p
        for p in folder.glob(samples_name(f"{task}_*"))
        if _TIMESTAMP.search(task_of_samples(p)[len(task) :])
    )
    return stamped[-1] if stamped else None


def _text(value: Any) -> str:
    """The first string of lm-eval's nested lists (``resps`` is a list of lists of strings)."""
    while isinstance(value, list) and value:
        value = value[0]
    return "" if value is None else str(value)


def _first_argument(row: dict[str, Any]) -> Any:
    """The first request argument lm-eval logged (the prompt), in either of its logged shapes."""
    args = row.get("arguments")
    if isinstance(args, dict):
        args = next(iter(args.values()), None)
    if isinstance(args, dict):
        return args.get("arg_0")
    return args


def prompt_hash(row: dict[str, Any]) -> str | None:
    """lm-eval's ``prompt_hash``, else a hash of the logged prompt, else None (nothing to compare)."""
    if row.get("prompt_hash"):
        return str(row["prompt_hash"])
    prompt = _first_argument(row)
    if prompt is None:
        return None
    return hashlib.sha256(_text(prompt).encode()).hexdigest()


def item_detail(row: dict[str, Any], metric: str, config: dict[str, Any] | None = None) -> dict[str, str]:
    """What the per-item view shows: the last question (``prompt``) after its folded few-shot ``prefix``, the
    response (the chosen option's text for multiple choice) and the gold answer (the gold option's text;
    IFEval's instructions). ``config`` is the task's entry of the results' "configs" (few-shot settings)."""
    config = config or {}
    shots = config.get("num_fewshot")
    delimiter = config.get("fewshot_delimiter")
    prefix, question = fold_prompt(
        _text(_first_argument(row)),
        row.get("doc"),
        shots if isinstance(shots, int) else None,
        delimiter if isinstance(delimiter, str) else "\n\n",
    )
    target_delimiter = config.get("target_delimiter")
    chosen = choice_texts(
        row, metric, question, target_delimiter if isinstance(target_delimiter, str) else " "
    )
    response, gold = chosen or (
        _text(row.get("filtered_resps") or row.get("resps")),
        instructions(row.get("doc")) or _text(row.get("target")),
    )
    return {"prompt": question, "prefix": prefix, "response": response, "gold": gold}


def _item_value(value: Any, where: str, metric: str) -> float:
    """One doc's metric: a 0/1 boolean or a number in [0, 1] (all lm-eval writes for these metrics)."""
    if isinstance(value, bool):
        return float(value)
    if not isinstance(value, (int, float)):
        raise SosbenchError(f"{where}: {metric} is {value!r}, not a number: is it an lm-eval samples log?")
    return check_score(float(value), where, metric)


@dataclass(frozen=True)
class SampleLog:
    """The rows of one task's samples log, read once and kept with their line numbers."""

    path: Path
    task: str
    rows: tuple[tuple[int, dict[str, Any]], ...]
    config: dict[str, Any] | None = None  # the task's lm-eval config, for the per-item view

    @classmethod
    def read(cls, path: Path, task: str, config: dict[str, Any] | None = None) -> SampleLog:
        rows = tuple(iter_jsonl(path, "lm-eval samples log"))
        if not rows:
            raise SosbenchError(f"{path}: the samples log is empty: re-run the benchmark")
        return cls(path, task, rows, config)

    def items(self, metric: str, details: bool = False) -> Items:
        """One metric of every doc (a list-valued metric is a ratio per doc: IFEval's instruction level)."""
        nums: list[float] = []
        dens: list[float] = []
        ratio = False
        for lineno, row in self.rows:
            where = f"{self.path}:{lineno}"
            if metric not in row:
                raise SosbenchError(f"{where}: no {metric!r} in this sample: is it an lm-eval samples log?")
            value = row[metric]
            if isinstance(value, list):
                ratio = True
                nums.append(sum(_item_value(v, where, metric) for v in value))
                dens.append(float(len(value)))
            else:
                nums.append(_item_value(value, where, metric))
                dens.append(1.0)
        has_ids = all("doc_id" in row for _, row in self.rows)
        return Items(
            np.asarray(nums),
            np.asarray(dens) if ratio else None,
            ids=tuple(f"{self.task}:{row['doc_id']}" for _, row in self.rows) if has_ids else None,
            prompts=tuple(prompt_hash(row) for _, row in self.rows),
            details=tuple(item_detail(row, metric, self.config) for _, row in self.rows) if details else None,
        )


def livebench_details(path: Path) -> dict[str, dict[str, str]]:
    """question_id -> prompt, response and ground truth, from the samples log a LiveBench run kept."""
    if not path.exists():
        return {}
    out = {}
    for _, row in iter_jsonl(path, "LiveBench samples log"):
        doc: dict[str, Any] = row["doc"] if isinstance(row.get("doc"), dict) else {}
        out[str(doc.get("question_id"))] = {
            "prompt": _text(doc.get("turns") or [""]),
            "prefix": "",
            "response": _text(row.get("filtered_resps") or row.get("resps")),
            "gold": _text(doc.get("ground_truth")),
        }
    return out
