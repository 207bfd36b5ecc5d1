"""Answers in LiveBench's model_answer format and the names of the files a scored benchmark folder holds.

Files (see docs/livebench.md):
* ``model_answer/<model_id>.jsonl``: {question_id, answer_id, model_id,
  choices: [{index: 0, turns: [answer]}], tstamp}
* ``livebench_scores.jsonl``: {question_id, task, category, score, model_id}, score in [0, 1]
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sosbench._io import iter_jsonl
from sosbench.errors import SosbenchError
from sosbench.rundir import LIVEBENCH_SCORES

SCORES_FILE = LIVEBENCH_SCORES  # also a run folder's file: named by the run-folder contract
ANSWER_DIR = "model_answer"


def model_answer_record(question_id: str, model_id: str, answer: str) -> dict[str, Any]:
    """One LiveBench/FastChat answer record (answer_id is a content hash, so reruns are reproducible)."""
    digest = hashlib.sha256(f"{model_id}\0{question_id}\0{answer}".encode()).hexdigest()[:22]
    return {
        "question_id": question_id,
        "answer_id": digest,
        "model_id": model_id,
        "choices": [{"index": 0, "turns": [answer]}],
        "tstamp": time.time(),
    }


def answer_text(record: Mapping[str, Any], where: str) -> str:
    """``choices[0].turns[-1]``, the text LiveBench's judge reads."""
    try:
        text = record["choices"][0]["turns"][-1]
    except (KeyError, IndexError, TypeError):
        raise SosbenchError(
            f"{where}: no choices[0].turns[-1]: expected LiveBench model_answer rows"
        ) from None
    if not isinstance(text, str):
        raise SosbenchError(f"{where}: choices[0].turns[-1] is not a string")
    return text


def model_file_name(model_id: str) -> str:
    """A safe file name for a model id (slashes and odd characters become "_")."""
    return re.sub(r"[^\w.+-]", "_", model_id).strip("._") or "model"


def read_model_answers(source: Path) -> list[dict[str, Any]]:
    """Answer records from a model_answer JSONL file or a folder of them; later rows win per (model,
    question)."""
    files = sorted(source.glob("*.jsonl")) if source.is_dir() else [source]
    if not files or not all(f.is_file() for f in files):
        raise SosbenchError(
            f"answers not found: {source} is neither a model_answer .jsonl file nor a folder of them"
        )
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for file in files:
        for number, record in iter_jsonl(file, "LiveBench answer file"):
            where = f"{file}:{number}"
            if "question_id" not in record:
                raise SosbenchError(f"{where}: no question_id: expected LiveBench model_answer rows")
            model = str(record.get("model_id") or file.stem)
            latest[(model, str(record["question_id"]))] = {
                **record,
                "model_id": model,
                "_text": answer_text(record, where),
            }
    return list(latest.values())


def sample_answer(sample: Mapping[str, Any], where: str) -> str:
    """The generated text of one lm-eval sample log line (filtered response, else raw), stripped as LiveBench
    did."""
    response = sample.get("filtered_resps") or sample.get("resps")
    while isinstance(response, list):
        if not response:
            raise SosbenchError(f"{where}: empty response list in lm-eval sample log")
        response = response[0]
    if not isinstance(response, str):
        raise SosbenchError(f"{where}: no generated text in lm-eval sample log")
    return response.strip()
