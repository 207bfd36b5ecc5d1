"""Arena-Hard-Auto's file layouts, read and written as they are.

A bench folder looks like Arena-Hard-Auto's ``data/arena-hard-v0.1``::

    question.jsonl                          one question per line
    model_answer/<model>.jsonl              one answer per line
    model_judgment/<judge>/<model>.jsonl    one line per question: both games vs the baseline

Questions and answers are read in both schemas Arena-Hard-Auto has used (2024 FastChat-style
``question_id``/``turns``/``choices`` and 2025 ``uid``/``prompt``/``messages``) and answers are written in
the 2025 schema, the one of the shipped files. Judgment lines use the v0.1 schema
``{"question_id", "model", "judge", "games": [{"user_prompt", "judgment", "score"}, ...]}``; extra keys
(criterion verdicts, token usage) ride along, which Arena-Hard-Auto's readers ignore.

Questions and the gpt-4-0314, gpt-4-0613 and gpt-3.5-turbo-0125 answers ship with sosbench: a bench
folder without them falls back to the packaged copies.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sosbench.errors import SosbenchError
from sosbench.judge._templates import data_file

PACKAGED_MODELS: tuple[str, ...] = ("gpt-4-0314", "gpt-4-0613", "gpt-3.5-turbo-0125")


@dataclass(frozen=True)
class Question:
    uid: str
    prompt: str
    category: str = "arena-hard-v0.1"
    cluster: str = ""


@dataclass(frozen=True)
class Answer:
    uid: str
    model: str
    text: str


def read_jsonl(path: Path) -> Iterator[dict]:
    """Records of a JSONL file; a torn last line (a write cut by a kill) is skipped, any other bad line fails."""
    try:
        lines = path.read_text(encoding="utf-8").split("\n")
    except FileNotFoundError:
        raise SosbenchError(f"{path} does not exist: check the path or create it first") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            if number == len(lines):  # no trailing newline: the last write never finished
                return
            raise SosbenchError(f"{path}:{number}: not valid JSON; fix or remove that line") from None
        if not isinstance(record, dict):
            raise SosbenchError(f"{path}:{number}: expected a JSON object per line")
        yield record


def append_jsonl(path: Path, records: Iterable[dict]) -> None:
    """Append whole lines and make them durable (flush + fsync) before returning."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def repair_tail(path: Path) -> None:
    """Cut a torn last line (no trailing newline) so that later appends start on a fresh line."""
    if not path.exists() or path.stat().st_size == 0:
        return
    with path.open("rb+") as handle:
        data = handle.read()
        if data.endswith(b"\n"):
            return
        handle.truncate(data.rfind(b"\n") + 1)
        handle.flush()
        os.fsync(handle.fileno())


def write_jsonl_atomic(path: Path, records: Iterable[dict]) -> None:
    """Write a whole JSONL file through a temporary file and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def question_from_record(record: dict, path: Path) -> Question:
    """A question in either schema (2025 ``uid``/``prompt`` or 2024 ``question_id``/``turns``)."""
    uid = record.get("uid", record.get("question_id"))
    prompt = record.get("prompt")
    if prompt is None and record.get("turns"):
        prompt = record["turns"][0].get("content")
    if uid is None or not isinstance(prompt, str):
        raise SosbenchError(f"{path}: a question needs uid (or question_id) and prompt (or turns[0].content)")
    return Question(str(uid), prompt, str(record.get("category", "arena-hard-v0.1")), str(record.get("cluster", "")))


def answer_from_record(record: dict, path: Path) -> Answer:
    """An answer in either schema (2025 ``messages`` or 2024 ``choices``)."""
    uid = record.get("uid", record.get("question_id"))
    model = record.get("model", record.get("model_id"))
    text = None
    if record.get("messages"):
        content = record["messages"][-1].get("content")
        text = content.get("answer") if isinstance(content, dict) else content
    elif record.get("choices"):
        text = record["choices"][0]["turns"][0].get("content")
    if uid is None or not isinstance(text, str):
        raise SosbenchError(f"{path}: an answer needs uid (or question_id) and messages[-1].content.answer")
    return Answer(str(uid), str(model or path.stem), text)


def read_questions(path: Path) -> list[Question]:
    """The questions of a question.jsonl, in file order."""
    return [question_from_record(r, path) for r in read_jsonl(path)]


def read_answers(path: Path) -> dict[str, Answer]:
    """A model's answers keyed by question uid."""
    return {a.uid: a for a in (answer_from_record(r, path) for r in read_jsonl(path))}


def answer_record(question: Question, model: str, text: str, **extra: object) -> dict:
    """An answer line in Arena-Hard-Auto's 2025 schema (``extra`` keys, e.g. usage, are appended)."""
    import time
    import uuid

    return {
        "uid": question.uid,
        "ans_id": uuid.uuid4().hex,
        "model": model,
        "messages": [
            {"role": "user", "content": question.prompt},
            {"role": "assistant", "content": {"answer": text}},
        ],
        "tstamp": time.time(),
        **extra,
    }


@dataclass(frozen=True)
class BenchDir:
    """A bench folder in Arena-Hard-Auto's layout, with the packaged data as fallback for reading."""

    root: Path

    @property
    def question_file(self) -> Path:
        own = self.root / "question.jsonl"
        return own if own.exists() else data_file("arena_hard", "question.jsonl")

    def answer_file(self, model: str) -> Path:
        """Where a model's answers are read from (the packaged copy when the folder lacks one)."""
        own = self.answer_target(model)
        if not own.exists() and model in PACKAGED_MODELS:
            return data_file("arena_hard", "model_answer", f"{model}.jsonl")
        return own

    def answer_target(self, model: str) -> Path:
        """Where a model's answers are written."""
        return self.root / "model_answer" / f"{safe_name(model)}.jsonl"

    def judgment_dir(self, judge_name: str) -> Path:
        return self.root / "model_judgment" / safe_name(judge_name)

    def questions(self, limit: int | None = None) -> list[Question]:
        found = read_questions(self.question_file)
        return found[:limit] if limit else found

    def answers(self, model: str) -> dict[str, Answer]:
        path = self.answer_file(model)
        if not path.exists():
            raise SosbenchError(
                f"no answers for model {model!r} at {path}: run `sosbench judge answer --model {model}` first"
            )
        return read_answers(path)


def safe_name(name: str) -> str:
    """A model or judge name as a file name (``org/model`` keeps only ``model``, as Arena-Hard-Auto does)."""
    base = name.rstrip("/").split("/")[-1]
    if not base or base in {".", ".."}:
        raise SosbenchError(f"{name!r} is not usable as a model name: give a plain name")
    return base
