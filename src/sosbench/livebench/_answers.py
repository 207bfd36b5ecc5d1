"""Answers in LiveBench's model_answer format, per-question score files, and the run-folder step.

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

from sosbench._io import write_jsonl_atomic
from sosbench.errors import SosbenchError
from sosbench.livebench._parallel import score_many
from sosbench.livebench._questions import LiveBenchQuestion, load_questions, read_jsonl
from sosbench.livebench._report import task_scores
from sosbench.livebench._sandbox import SandboxMode, check_available
from sosbench.livebench._tasks import CATEGORIES, RELEASE, category_of, check_protocol
from sosbench.rundir import LIVEBENCH_SCORES, samples_name

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
        for number, record in enumerate(read_jsonl(file), 1):
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


def score_rows(
    questions: list[LiveBenchQuestion],
    answers: list[dict[str, Any]],
    *,
    protocol: str = "paper",
    workers: int | None = None,
    progress: Any = None,
    sandbox: SandboxMode = "bwrap",
) -> list[dict[str, Any]]:
    """One row per answer to a known question: {question_id, task, category, score, model_id}; coding rows
    scored with ``sandbox="none"`` also carry ``"sandbox": "none"`` (unsafe, flagged in every output)."""
    check_protocol(protocol)
    by_id = {question["question_id"]: question for question in questions}
    matched = [(by_id[a["question_id"]], a) for a in answers if a["question_id"] in by_id]
    if answers and not matched:
        raise SosbenchError("no answer matches a question of the release: check --questions and --answers")
    coding = CATEGORIES["coding"]
    if any(q["task"] in coding for q, _ in matched):
        check_available(sandbox)
    scores = score_many(
        [(q, a["_text"]) for q, a in matched],
        protocol=protocol,
        workers=workers,
        progress=progress,
        sandbox=sandbox,
    )
    rows = [
        {
            "question_id": q["question_id"],
            "task": q["task"],
            "category": category_of(q["task"]),
            "score": s,
            "model_id": a["model_id"],
            **({"sandbox": "none"} if sandbox == "none" and q["task"] in coding else {}),
        }
        for (q, a), s in zip(matched, scores, strict=True)
    ]
    return sorted(rows, key=lambda r: (r["model_id"], r["task"], r["question_id"]))


def score_answer_files(
    questions: str | Path,
    answers: Path,
    *,
    protocol: str = "paper",
    workers: int | None = None,
    release: str = RELEASE,
    progress: Any = None,
    sandbox: SandboxMode = "bwrap",
) -> list[dict[str, Any]]:
    """Score existing model_answer files against questions (a question.jsonl, folder, mirror or hub id)."""
    return score_rows(
        load_questions(questions, release=release),
        read_model_answers(Path(answers)),
        protocol=protocol,
        workers=workers,
        progress=progress,
        sandbox=sandbox,
    )


def _sample_answer(sample: Mapping[str, Any], where: str) -> str:
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


def finalize_run(
    benchmark_dir: Path,
    category: str,
    model_id: str,
    *,
    protocol: str = "paper",
    workers: int | None = None,
    sandbox: SandboxMode = "bwrap",
) -> dict[str, float]:
    """Turn lm-eval's LiveBench sample logs into model_answer + livebench_scores.jsonl; return task -> score
    x 100.

    Reads ``samples_livebench_<task>.jsonl`` for every task of ``category`` in ``benchmark_dir``.
    """
    if category not in CATEGORIES:
        raise SosbenchError(f"unknown LiveBench category {category!r}: use one of {', '.join(CATEGORIES)}")
    benchmark_dir = Path(benchmark_dir)
    questions: list[LiveBenchQuestion] = []
    answers: list[dict[str, Any]] = []
    for task in CATEGORIES[category]:
        path = benchmark_dir / samples_name(f"livebench_{task}")
        if not path.is_file():
            raise SosbenchError(
                f"{path} is missing: the lm-eval run of livebench_{category} did not finish; rerun it"
            )
        for number, sample in enumerate(read_jsonl(path), 1):
            question = sample["doc"]
            text = _sample_answer(sample, f"{path}:{number}")
            questions.append(question)
            answers.append({**model_answer_record(question["question_id"], model_id, text), "_text": text})
    write_jsonl_atomic(
        benchmark_dir / ANSWER_DIR / f"{model_file_name(model_id)}.jsonl",
        ({k: v for k, v in a.items() if k != "_text"} for a in answers),
    )
    rows = score_rows(questions, answers, protocol=protocol, workers=workers, sandbox=sandbox)
    write_jsonl_atomic(benchmark_dir / SCORES_FILE, rows)
    return task_scores(rows).get(model_id, {})
