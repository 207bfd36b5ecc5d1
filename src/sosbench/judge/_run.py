"""`judge run` as one library call: the checks, the lock, the plan, the folder's key, the journal, events.

:func:`judge_job` checks what was asked (models, categories, baselines) and builds the job;
:func:`plan_judgments` says what a run would judge without touching a file (``--dry-run``);
:func:`run_judgments` judges, holding the judge folder's lock from reading its state to its last write,
and reports progress through ``on_event``. The CLI only parses options, calls these and prints.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sosbench._io import folder_lock
from sosbench.errors import SosbenchError
from sosbench.judge._client import CallStats, ChatModel
from sosbench.judge._files import BenchDir, Question
from sosbench.judge._judging import (
    GameTask,
    JudgeJob,
    JudgeKey,
    RunTotals,
    check_judge_folder,
    judgment_summary,
    plan,
    run_games,
    write_judge_key,
)
from sosbench.judge._templates import JudgeTemplate


@dataclass(frozen=True)
class RunEvent:
    """Progress of a run: ``planned`` once (``games`` to judge), then ``game`` as each game finishes."""

    kind: Literal["planned", "game"]
    games: int = 0


@dataclass(frozen=True)
class ModelSummary:
    """One model's judgment file after a run."""

    model: str
    questions: int  # questions with a line
    unparsed: int  # games without a readable verdict


@dataclass(frozen=True)
class JudgeRunResult:
    """What a run did, and where its judgments are."""

    folder: Path
    total_games: int  # two per (question, model)
    already_done: int  # games judged before this run (or journaled in full)
    totals: RunTotals
    models: tuple[ModelSummary, ...]
    stats: CallStats | None  # the endpoint client's retries and timeouts (None: nothing was called)


def select_questions(
    bench: BenchDir, categories: list[str], limit: int | None, *, judging: bool
) -> tuple[list[Question], list[str]]:
    """The questions of the chosen categories (first ``limit``), and the categories left out.

    v2.0 only. With no category named, every category is taken; when ``judging``, one whose baseline
    answers are missing (creative_writing's gemini-2.0-flash-001, not shipped) is left out and returned,
    and naming such a category is an error that says where the answers go.
    """
    if limit is not None and limit < 1:
        raise SosbenchError("--limit must be at least 1")
    benchmark = bench.benchmark
    questions = bench.questions()
    if not questions:
        raise SosbenchError(f"{bench.question_file}: no questions in it")
    present = list(dict.fromkeys(q.category for q in questions))
    if categories and not benchmark.per_question:
        raise SosbenchError(f"--category is for arena-hard-v2.0; {benchmark.name} has one category")
    unknown = [c for c in categories if c not in present]
    if unknown:
        raise SosbenchError(
            f"unknown --category {', '.join(unknown)}: the questions have {', '.join(present)}"
        )
    chosen, skipped = list(categories or present), []
    if judging and benchmark.per_question:
        for category in list(chosen):
            baseline = benchmark.category(category).baseline
            if bench.has_answers(baseline):
                continue
            if categories:
                raise SosbenchError(
                    f"{category} is judged against {baseline}, whose answers are not shipped: put them at "
                    f"{bench.answer_target(baseline)} (Arena-Hard-Auto's layout)"
                )
            chosen.remove(category)
            skipped.append(category)
        if not chosen:
            raise SosbenchError("no category has its baseline's answers: nothing to judge")
    picked = [q for q in questions if q.category in chosen]
    return (picked[:limit] if limit else picked), skipped


def judge_job(
    bench: BenchDir,
    template: JudgeTemplate,
    judge: str,
    models: list[str],
    questions: list[Question],
    baseline: str,
) -> JudgeJob:
    """Check the models against the baselines and build the job (v2.0: each category's baseline)."""
    if not models:
        raise SosbenchError("--models is empty: name at least one model with answers")
    benchmark = bench.benchmark
    baselines = {baseline} if not benchmark.per_question else set()
    label = baseline
    if benchmark.per_question:
        baselines = {benchmark.category(q.category).baseline for q in questions}
        label = benchmark.baseline_label()
    clash = [m for m in models if m in baselines]
    if clash:
        raise SosbenchError(
            f"--models includes the baseline {clash[0]}: it scores 50 by definition; leave it out"
        )
    key = JudgeKey.of(judge, template, label, benchmark.name)
    return JudgeJob(bench, template, key, tuple(models), tuple(questions))


def plan_judgments(job: JudgeJob) -> list[GameTask]:
    """The games a run would judge now; reads only (no lock, no file touched)."""
    check_judge_folder(job.bench.judgment_dir(job.key.judge), job.key)
    return plan(job, write=False)[1]


def run_judgments(
    job: JudgeJob,
    make_chat: Callable[[], ChatModel],
    *,
    concurrency: int = 8,
    on_event: Callable[[RunEvent], None] = lambda event: None,
) -> JudgeRunResult:
    """Judge every game of the job not judged yet; every call is journaled as it returns.

    One writer per judge folder: the folder's lock is held from reading its state to the last write, so a
    second run on it is refused at once. The chat client is made only when there is something to judge,
    and closed at the end. Games whose calls kept failing are in ``totals.failed`` (a rerun finishes them).
    """
    folder = job.bench.judgment_dir(job.key.judge)
    per_question = job.bench.benchmark.per_question
    stats: CallStats | None = None
    with folder_lock(folder, "the judgments in"):
        new_folder = check_judge_folder(folder, job.key)
        stores, tasks = plan(job)
        if new_folder:
            write_judge_key(folder, job.key)
        on_event(RunEvent("planned", len(tasks)))
        totals = RunTotals()
        if tasks:

            async def judge_all() -> tuple[RunTotals, CallStats | None]:
                chat = make_chat()
                try:
                    done = await run_games(
                        chat,
                        job.template,
                        stores,
                        tasks,
                        lambda: on_event(RunEvent("game", 1)),
                        concurrency,
                        per_question,
                    )
                finally:
                    await chat.aclose()
                return done, getattr(chat, "stats", None)

            totals, stats = asyncio.run(judge_all())
        uids = [q.uid for q in job.questions]
        for store in stores.values():
            store.finish(uids)
    summaries = []
    for model in job.models:
        path = stores[model].files.judgment
        summary = judgment_summary(path) if path.exists() else {"questions": 0, "unparsed": 0}
        summaries.append(ModelSummary(model, summary["questions"], summary["unparsed"]))
    total = 2 * len(job.questions) * len(job.models)
    return JudgeRunResult(folder, total, total - len(tasks), totals, tuple(summaries), stats)
