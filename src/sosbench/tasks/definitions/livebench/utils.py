"""lm-eval glue for the LiveBench generation tasks: release/task filtering and the prompt.

Scoring is not done here: lm-eval only generates (and reports the share of non-empty answers);
``sosbench.livebench.finalize_run`` scores the logged answers with the native LiveBench scorers.
"""

from __future__ import annotations

from typing import Any

from sosbench.livebench import RELEASE, in_release


def _keep_task(task: str):
    def process_docs(dataset: Any) -> Any:
        """The task's rows of the 2024-06-24 release (same code for the hub dataset and a mirror folder)."""
        return dataset.filter(lambda row: row["task"] == task and in_release(row, RELEASE))

    process_docs.__name__ = f"process_docs_{task}"
    return process_docs


process_docs_LCB_generation = _keep_task("LCB_generation")
process_docs_coding_completion = _keep_task("coding_completion")
process_docs_cta = _keep_task("cta")
process_docs_tablejoin = _keep_task("tablejoin")
process_docs_tablereformat = _keep_task("tablereformat")
process_docs_paraphrase = _keep_task("paraphrase")
process_docs_simplify = _keep_task("simplify")
process_docs_story_generation = _keep_task("story_generation")
process_docs_summarize = _keep_task("summarize")
process_docs_connections = _keep_task("connections")
process_docs_plot_unscrambling = _keep_task("plot_unscrambling")
process_docs_typos = _keep_task("typos")
process_docs_AMPS_Hard = _keep_task("AMPS_Hard")
process_docs_math_comp = _keep_task("math_comp")
process_docs_olympiad = _keep_task("olympiad")
process_docs_web_of_lies_v2 = _keep_task("web_of_lies_v2")
process_docs_zebra_puzzle = _keep_task("zebra_puzzle")


def doc_to_text(doc: dict[str, Any]) -> str:
    """The single user turn, verbatim (LiveBench adds no instruction, few-shot or system prompt)."""
    return doc["turns"][0]


def doc_to_target(doc: dict[str, Any]) -> str:
    """The ground truth where the task has one (logged only; scoring happens in sosbench.livebench)."""
    return str(doc.get("ground_truth") or "")


def process_results(doc: dict[str, Any], results: list[str]) -> dict[str, float]:
    """Whether the model produced any text (a quick health check; the LiveBench score is computed later)."""
    return {"nonempty_answer": float(bool(results[0].strip()))}
