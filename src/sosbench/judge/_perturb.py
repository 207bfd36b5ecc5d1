"""Response interventions (protocol 3.5): rewrite a model's answers to inject one infraction.

The rewrite prompts are data (``data/judge/rewrite_prompts.yaml``, documented there and in docs/judge.md).
The rewritten set is a new answer file ``model_answer/<model>@<kind>.jsonl``; judging it next to the
original lets ``judge score`` report the score loss per criterion.

Every rewrite is cached in ``rewrite_cache/<rewriter>.jsonl`` under the bench folder, keyed by the
SHA-256 of (rewriter, prompt version, messages), and appended the moment it arrives: reruns and other kinds
never pay twice for the same request, and a kill loses only the calls in flight.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sosbench._io import append_jsonl, iter_jsonl, read_yaml, write_jsonl_atomic
from sosbench.errors import SosbenchError
from sosbench.judge._client import ChatModel, gather_tolerant
from sosbench.judge._files import BenchDir, Question, answer_record, file_stem, repair_tail
from sosbench.judge._templates import data_file

REWRITE_MAX_TOKENS = 4096  # room for the verbose rewrite of a 2048-token answer


@dataclass(frozen=True)
class RewritePrompt:
    kind: str
    description: str
    system: str
    user_template: str
    instruction: str
    version: int

    def messages(self, question: str, answer: str) -> list[dict]:
        user = self.user_template.format(instruction=self.instruction, question=question, answer=answer)
        return [{"role": "system", "content": self.system}, {"role": "user", "content": user}]


@dataclass(frozen=True)
class PerturbResult:
    """What a rewrite pass produced."""

    model: str  # the new answer set's name, "<model>@<kind>"
    path: Path  # its answer file (written only when nothing failed)
    answers: int  # questions rewritten (cached or new)
    calls: int  # new rewriter calls made by this pass
    failed: list[str]  # "<uid>: ErrorName" of calls that kept failing; a rerun retries them


def load_rewrite_prompts() -> dict[str, RewritePrompt]:
    """The shipped rewrite prompts by kind."""
    data = read_yaml(data_file("judge", "rewrite_prompts.yaml"))
    return {
        kind: RewritePrompt(
            kind, spec["description"], data["system"], data["template"], spec["instruction"], data["version"]
        )
        for kind, spec in data["kinds"].items()
    }


def read_cache(path: Path) -> dict[str, str]:
    """Cached rewrites by key; a line that is not one is an error naming it (a torn last line is skipped)."""
    cache: dict[str, str] = {}
    if not path.exists():
        return cache
    for number, row in iter_jsonl(path, "rewrite cache", torn_tail_ok=True):
        if not isinstance(row.get("key"), str) or not isinstance(row.get("text"), str):
            raise SosbenchError(
                f"{path}:{number}: a cached rewrite needs key and text; delete that line to redo it"
            )
        cache[row["key"]] = row["text"]
    return cache


def perturbed_name(model: str, kind: str) -> str:
    return f"{model}@{kind}"


def _cache_key(rewriter: str, messages: list[dict], version: int) -> str:
    """SHA-256 of (rewriter, prompt version, messages): any change to a prompt or answer is a new request."""
    return hashlib.sha256(json.dumps([rewriter, version, messages], sort_keys=True).encode()).hexdigest()


async def perturb_answers(
    chat: ChatModel,
    bench: BenchDir,
    model: str,
    kind: str,
    rewriter: str,
    questions: list[Question],
    on_done: Callable[[], None] = lambda: None,
) -> PerturbResult:
    """Rewrite ``model``'s answers to ``questions`` into the answer file of ``<model>@<kind>``."""
    prompts = load_rewrite_prompts()
    if kind not in prompts:
        raise SosbenchError(f"unknown --kind {kind!r}: use one of {', '.join(prompts)}")
    prompt = prompts[kind]
    answers = bench.answers(model)
    cache_path = bench.root / "rewrite_cache" / f"{file_stem(rewriter, 'rewriter')}.jsonl"
    repair_tail(cache_path)
    cache = read_cache(cache_path)
    chosen = [q for q in questions if q.uid in answers]
    requests = {q.uid: prompt.messages(q.prompt, answers[q.uid].text) for q in chosen}
    todo = [q for q in chosen if _cache_key(rewriter, requests[q.uid], prompt.version) not in cache]

    async def one(question: Question) -> None:
        messages = requests[question.uid]
        try:
            reply = await chat.complete(messages, temperature=0.0, max_tokens=REWRITE_MAX_TOKENS)
        finally:
            on_done()
        key = _cache_key(rewriter, messages, prompt.version)
        usage = {"prompt_tokens": reply.prompt_tokens, "completion_tokens": reply.completion_tokens}
        append_jsonl(
            cache_path, [{"key": key, "kind": kind, "uid": question.uid, "text": reply.text, "usage": usage}]
        )
        cache[key] = reply.text

    failed = await gather_tolerant(todo, one, lambda q: q.uid)
    name = perturbed_name(model, kind)
    if failed:  # never write a partial answer set; the finished rewrites are cached for the rerun
        return PerturbResult(name, bench.answer_target(name), len(chosen), len(todo) - len(failed), failed)
    meta = {"source_model": model, "kind": kind, "rewriter": rewriter, "prompt_version": prompt.version}
    records = [
        answer_record(
            q, name, cache[_cache_key(rewriter, requests[q.uid], prompt.version)], perturbation=meta
        )
        for q in chosen
    ]
    write_jsonl_atomic(bench.answer_target(name), records)
    return PerturbResult(name, bench.answer_target(name), len(chosen), len(todo), [])
