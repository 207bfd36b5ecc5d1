"""Arena-Hard-Auto's file layouts, read and written as they are.

A bench folder looks like Arena-Hard-Auto's ``data/arena-hard-v0.1`` or ``data/arena-hard-v2.0``::

    question.jsonl                          one question per line
    model_answer/<model>.jsonl              one answer per line
    model_judgment/<judge>/<model>.jsonl    one line per question: both games vs the baseline

Questions and answers are read in both schemas Arena-Hard-Auto has used (2024 FastChat-style
``question_id``/``turns``/``choices`` and 2025 ``uid``/``prompt``/``messages``) and answers are written in
the 2025 schema, the one of the shipped files, with v2.0's ``metadata`` (:func:`answer_metadata`).
Judgment lines follow the benchmark's layout (``sosbench.judge._benchmarks``); extra keys (the template and
its hash, criterion verdicts, token usage) ride along, which Arena-Hard-Auto's readers ignore. Model and
judge names map to file names through :func:`file_stem`.

The questions and baseline answers of each benchmark ship with sosbench: a bench folder without them
falls back to the packaged copies.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from sosbench._io import cut_torn_tail, iter_jsonl, safe_file_name
from sosbench.errors import SosbenchError
from sosbench.judge._benchmarks import Benchmark, detect_benchmark, get_benchmark
from sosbench.judge._metadata import answer_metadata
from sosbench.judge._templates import data_file

MAX_STEM = 200
"""The longest file stem of a model or judge: room for ``.jsonl`` and lock and temporary names beside it."""


def judged_by(judge: object, template_sha256: object) -> str:
    """A judgment's judge and template as every refusal to mix them names it."""
    return f"judge {judge!r}, template {str(template_sha256)[:12]}"


def mixing_refused(where: object, held: str, other: str, fix: str) -> SosbenchError:
    """The one refusal for judgments of two judges or templates meeting in a folder, a file or a score."""
    return SosbenchError(f"{where} holds judgments of {held}; {other} would mix with them: {fix}")


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
    metadata: dict | None = None  # v2.0's token length and markdown counts, as the file holds them


def repair_tail(path: Path) -> None:
    """Cut a torn last line (no trailing newline) so that later appends start on a fresh line."""
    cut_torn_tail(path)


def _uid(record: dict) -> str | None:
    uid = record.get("uid", record.get("question_id"))
    return str(uid) if isinstance(uid, (str, int)) and not isinstance(uid, bool) else None


def question_from_record(record: dict, where: str) -> Question:
    """A question in either schema (2025 ``uid``/``prompt`` or 2024 ``question_id``/``turns``)."""
    prompt = record.get("prompt")
    turns = record.get("turns")
    if prompt is None and isinstance(turns, list) and turns and isinstance(turns[0], dict):
        prompt = turns[0].get("content")
    uid = _uid(record)
    if uid is None or not isinstance(prompt, str):
        raise SosbenchError(
            f"{where}: a question needs uid (or question_id) and a text prompt (or turns[0].content)"
        )
    return Question(
        uid, prompt, str(record.get("category", "arena-hard-v0.1")), str(record.get("cluster", ""))
    )


def answer_from_record(record: dict, where: str, default_model: str) -> Answer:
    """An answer in either schema (2025 ``messages`` or 2024 ``choices``)."""
    model = record.get("model", record.get("model_id"))
    text = None
    messages, choices = record.get("messages"), record.get("choices")
    if isinstance(messages, list) and messages and isinstance(messages[-1], dict):
        content = messages[-1].get("content")
        text = content.get("answer") if isinstance(content, dict) else content
    elif isinstance(choices, list) and choices and isinstance(choices[0], dict):
        turns = choices[0].get("turns")
        if isinstance(turns, list) and turns and isinstance(turns[0], dict):
            text = turns[0].get("content")
    uid = _uid(record)
    if uid is None or not isinstance(text, str):
        raise SosbenchError(
            f"{where}: an answer needs uid (or question_id) and messages[-1].content.answer text"
        )
    metadata = record.get("metadata")
    return Answer(uid, str(model or default_model), text, metadata if isinstance(metadata, dict) else None)


def read_questions(path: Path) -> list[Question]:
    """The questions of a question.jsonl, in file order."""
    return [
        question_from_record(r, f"{path}:{n}")
        for n, r in iter_jsonl(path, "questions file", torn_tail_ok=True)
    ]


def read_answers(path: Path) -> dict[str, Answer]:
    """A model's answers keyed by question uid."""
    rows = iter_jsonl(path, "answers file", torn_tail_ok=True)
    return {a.uid: a for a in (answer_from_record(r, f"{path}:{n}", path.stem) for n, r in rows)}


def answer_record(question: Question, model: str, text: str, **extra: object) -> dict:
    """An answer line in Arena-Hard-Auto's 2025 schema with v2.0's ``metadata`` (``extra`` keys, e.g. usage,
    are appended)."""
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
        "metadata": answer_metadata(text),
        **extra,
    }


@dataclass(frozen=True)
class BenchDir:
    """A bench folder in Arena-Hard-Auto's layout, with the benchmark's packaged data as fallback."""

    root: Path
    benchmark: Benchmark = dataclasses.field(default_factory=lambda: get_benchmark("arena-hard-v0.1"))

    @classmethod
    def open(cls, root: Path, benchmark: str | None = None) -> BenchDir:
        """A bench folder of the named benchmark, or of the one its files show (:func:`detect_benchmark`).

        A folder whose files are of another benchmark than the one named is refused."""
        found = detect_benchmark(root)
        if benchmark is None:
            return cls(root, found)
        chosen = get_benchmark(benchmark)
        if (root / "question.jsonl").is_file() and found.name != chosen.name:
            raise SosbenchError(
                f"{root} holds {found.name} questions, not {chosen.name}: "
                f"drop --benchmark or use another --bench-dir"
            )
        return cls(root, chosen)

    @property
    def question_file(self) -> Path:
        own = self.root / "question.jsonl"
        return own if own.exists() else data_file(self.benchmark.data, "question.jsonl")

    def answer_file(self, model: str) -> Path:
        """Where a model's answers are read from (the packaged copy when the folder lacks one)."""
        own = self.answer_target(model)
        if not own.exists() and model in self.benchmark.packaged_models:
            return data_file(self.benchmark.data, "model_answer", f"{model}.jsonl")
        return own

    def has_answers(self, model: str) -> bool:
        return self.answer_file(model).exists()

    def answer_target(self, model: str) -> Path:
        """Where a model's answers are written."""
        return self.root / "model_answer" / f"{file_stem(model)}.jsonl"

    def judgment_dir(self, judge: str) -> Path:
        """A judge's folder, after the full judge id (``org/judge`` keeps its org; :func:`file_stem`)."""
        return self.root / "model_judgment" / file_stem(judge, "judge")

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


def file_stem(name: str, what: str = "model") -> str:
    """A model or judge name as a file name: distinct names never share a file, and none leaves its folder.

    ``org1/m`` and ``org2/m`` get different readable stems (``sosbench._io.safe_file_name``); plain names,
    Arena-Hard-Auto's, stay as they are, and so does the ``@`` of a rewritten set (``model@kind``). A name
    that reads as a path out of the folder (absolute, ``..``) or holds control characters is refused.
    """
    parts = name.split("/")
    if (
        not name.strip()
        or name.startswith("/")
        or any(p in (".", "..") for p in parts)
        or not name.isprintable()
    ):
        raise SosbenchError(
            f"{what} name {name!r} would leave its folder: give a plain name such as org/model"
        )
    base, sep, kind = name.rpartition("@")
    if sep and base and kind:
        stem = f"{file_stem(base, what)}@{safe_file_name(kind)}"
        # A name of many long @-parts would pass the file system's limit (255 bytes): hashed whole instead.
        return stem if len(stem) <= MAX_STEM else safe_file_name(name)
    return safe_file_name(name)
