"""Generating a model's Arena-Hard answers (``sosbench judge answer``).

Settings come from Arena-Hard-Auto v0.1's ``gen_answer_config.yaml`` (shipped byte-exact): temperature 0,
at most 2048 new tokens, one choice. Each answer is appended to ``model_answer/<model>.jsonl`` as soon as
it arrives, so a rerun only asks for the missing questions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sosbench._io import append_jsonl, read_yaml
from sosbench.judge._client import ChatModel, gather_tolerant
from sosbench.judge._files import BenchDir, Question, answer_record, read_answers, repair_tail
from sosbench.judge._templates import data_file


@dataclass(frozen=True)
class GenerationSettings:
    temperature: float
    max_tokens: int


def default_generation() -> GenerationSettings:
    """The settings of the shipped gen_answer_config.yaml."""
    config = read_yaml(data_file("judge", "gen_answer_config.yaml"))
    return GenerationSettings(float(config["temperature"]), int(config["max_tokens"]))


def missing_questions(bench: BenchDir, model: str, questions: list[Question]) -> list[Question]:
    """Questions the model's answer file does not cover yet."""
    target = bench.answer_target(model)
    repair_tail(target)
    done = set(read_answers(target)) if target.exists() else set()
    return [q for q in questions if q.uid not in done]


async def generate_answers(
    chat: ChatModel,
    bench: BenchDir,
    model: str,
    questions: list[Question],
    settings: GenerationSettings,
    on_done: Callable[[], None] = lambda: None,
) -> list[str]:
    """Answer every question concurrently; each answer is written the moment it arrives.

    Returns the questions whose call kept failing transiently or got an unusable reply
    (``"<uid>: reason"``; a rerun asks again).
    """
    target = bench.answer_target(model)
    repair_tail(target)

    async def one(question: Question) -> None:
        messages = [{"role": "user", "content": question.prompt}]
        try:
            reply = await chat.complete(
                messages, temperature=settings.temperature, max_tokens=settings.max_tokens
            )
        finally:
            on_done()
        extra: dict = {
            "usage": {"prompt_tokens": reply.prompt_tokens, "completion_tokens": reply.completion_tokens}
        }
        if reply.truncated:
            extra["truncated"] = True
        append_jsonl(target, [answer_record(question, model, reply.text, **extra)])

    return await gather_tolerant(questions, one, lambda q: q.uid)
