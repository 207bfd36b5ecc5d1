"""lm-eval glue for the LiveBench generation tasks: release/task filtering and the prompt.

Scoring is not done here: lm-eval only generates (and reports the share of non-empty answers);
``sosbench.livebench.finalize_run`` scores the logged answers with the native LiveBench scorers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sosbench.livebench import RELEASE, TASK_CATEGORY, in_release


def _keep_task(task: str) -> Callable[[Any], Any]:
    def process_docs(dataset: Any) -> Any:
        """The task's rows of the release (same code for the hub dataset and a mirror folder)."""
        return dataset.filter(lambda row: row["task"] == task and in_release(row, RELEASE))

    process_docs.__name__ = f"process_docs_{task}"
    return process_docs


# One `process_docs_<task>` per task of the release (livebench_releases.yaml), the names the task files'
# `process_docs: !function utils.process_docs_<task>` look up in this module.
globals().update({f"process_docs_{task}": _keep_task(task) for task in TASK_CATEGORY})


def doc_to_text(doc: dict[str, Any]) -> str:
    """The single user turn, verbatim (LiveBench adds no instruction, few-shot or system prompt)."""
    return doc["turns"][0]


def doc_to_target(doc: dict[str, Any]) -> str:
    """The ground truth where the task has one (logged only; scoring happens in sosbench.livebench)."""
    return str(doc.get("ground_truth") or "")


def process_results(doc: dict[str, Any], results: list[str]) -> dict[str, float]:
    """Whether the model produced any text (a quick health check; the LiveBench score is computed later)."""
    return {"nonempty_answer": float(bool(results[0].strip()))}
