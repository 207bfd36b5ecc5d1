"""Render and score leaderboard tasks with whichever lm-eval is importable (0.4.3 or 0.4.13).

Run by benchmarks/leaderboard_fidelity.py once in an lm-eval 0.4.3 environment and once in sosbench's,
so it imports nothing from sosbench and uses only the lm-eval API both versions share
(``TaskManager``, ``get_task_dict``, ``build_all_requests``, ``process_results``, ``aggregation``).

    python _leaderboard_render.py SPEC.json OUT.json

SPEC: ``{"include": [folders], "include_defaults": bool, "benchmarks": {name: {"tasks": [...],
"dataset_path": folder}}}``. Each benchmark is loaded the way ``sosbench run --data-dir`` loads it (a
group carrying ``dataset_path`` over its tasks, seeded like ``simple_evaluate``). OUT maps each benchmark's
leaf tasks to their requests (the exact strings a model receives), gold targets and the per-item metrics of
the fixed responses below, plus their aggregates.
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import yaml


def _last_boxed(solution: str) -> str:
    """The content of the last ``\\boxed{...}`` of a MATH solution (brace-matched), or "" if none."""
    start = solution.rfind("\\boxed{")
    if start < 0:
        return ""
    depth, i = 0, start + len("\\boxed")
    for j in range(i, len(solution)):
        depth += {"{": 1, "}": -1}.get(solution[j], 0)
        if depth == 0:
            return solution[i + 1 : j]
    return ""


def generation_responses(task: str, doc: dict[str, Any]) -> dict[str, str]:
    """Fixed model outputs per item: the formats each rule accepts or rejects, right and wrong."""
    if "math" in task:
        answer = _last_boxed(doc["solution"])
        return {
            "minerva": f"Final Answer: The final answer is ${answer}$. I hope it is correct.",
            "minerva_wrong": "Final Answer: The final answer is $-987654$. I hope it is correct.",
            "plain": f"The answer is {answer}.",
            "boxed": f"So the answer is $\\boxed{{{answer}}}$.",
            "solution": doc["solution"],
            "empty": "",
        }
    prompt = doc["prompt"]
    return {
        "echo": prompt,
        "lower": prompt.lower(),
        "upper": prompt.upper(),
        "preamble": "Sure! Here is my answer.\n" + prompt.lower(),
        "json": json.dumps({"answer": prompt}),
        "empty": "",
    }


def loglikelihood_results(doc_id: int, n_choices: int) -> dict[str, list[tuple[float, bool]]]:
    """Fixed (loglikelihood, is_greedy) per choice: ties, near-ties and lengths that flip acc_norm."""
    return {
        "ramp": [(-1.0 - 0.5 * i, i == 0) for i in range(n_choices)],
        "reverse_ramp": [(-1.0 - 0.5 * (n_choices - 1 - i), i == n_choices - 1) for i in range(n_choices)],
        "scrambled": [(-float((doc_id * 7 + i * 3) % 5) - 0.25 * i, False) for i in range(n_choices)],
        "tied": [(-2.0, False) for _ in range(n_choices)],
    }


def _leaves(tree: Any) -> list[Any]:
    """The Task objects of a get_task_dict result (0.4.3 nests them as ``(group name, task)`` pairs)."""
    if isinstance(tree, dict):
        return [leaf for value in tree.values() for leaf in _leaves(value)]
    if isinstance(tree, tuple):
        return [leaf for value in tree for leaf in _leaves(value)]
    return [tree] if hasattr(tree, "config") else []


def _plain(value: Any) -> Any:
    """JSON-comparable form (numpy scalars, tuples)."""
    return json.loads(json.dumps(value, default=lambda v: v.item() if hasattr(v, "item") else str(v)))


def render(spec: dict[str, Any]) -> dict[str, Any]:
    from lm_eval.tasks import TaskManager, get_task_dict

    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as work:
        for bench, entry in spec["benchmarks"].items():
            group = f"fidelity_{bench.replace('-', '_')}"
            wrapper = {"group": group, "task": entry["tasks"], "dataset_path": entry["dataset_path"]}
            (Path(work) / f"{group}.yaml").write_text(yaml.safe_dump(wrapper, sort_keys=False))
            manager = TaskManager(
                include_path=[*spec["include"], work], include_defaults=spec["include_defaults"]
            )
            random.seed(0)  # as simple_evaluate seeds before it builds the tasks (GPQA shuffles its choices)
            np.random.seed(1234)
            tasks = _leaves(get_task_dict([group], manager))
            out[bench] = {task.config.task: _task_record(task) for task in tasks}
    return out


def _task_record(task: Any) -> dict[str, Any]:
    task.build_all_requests(rank=0, world_size=1)
    by_doc: dict[int, list[Any]] = {}
    for instance in task.instances:
        by_doc.setdefault(instance.doc_id, []).append(instance)
    docs, scores = [], {}
    for doc_id, instances in sorted(by_doc.items()):
        doc = instances[0].doc
        instances.sort(key=lambda inst: inst.idx)
        docs.append(
            {
                "doc_id": doc_id,
                "requests": [_plain(list(i.arguments)) for i in instances],
                "target": _plain(task.doc_to_target(doc)),
            }
        )
        if task.OUTPUT_TYPE == "generate_until":
            sets = {k: [v] for k, v in generation_responses(task.config.task, doc).items()}
        else:
            sets = loglikelihood_results(doc_id, len(instances))
        for name, results in sets.items():
            # IFEval's letter_frequency checker draws a random letter when an item's letter is not a-z
            # (real items use '#' and '!'), so its score depends on the RNG state; fix it per item.
            random.seed(doc_id)
            for metric, value in task.process_results(doc, results).items():
                scores.setdefault(name, {}).setdefault(metric, []).append(_plain(value))
    aggregation = task.aggregation()
    aggregates = {
        name: {m: _plain(aggregation[m](v)) for m, v in metrics.items() if m in aggregation}
        for name, metrics in scores.items()
    }
    return {"output_type": task.OUTPUT_TYPE, "docs": docs, "scores": scores, "aggregates": aggregates}


if __name__ == "__main__":
    result = render(json.loads(Path(sys.argv[1]).read_text()))
    Path(sys.argv[2]).write_text(json.dumps(result, sort_keys=True))
