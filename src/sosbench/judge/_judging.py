"""Running a judge: two games per question (positions swapped), written as each one finishes.

Durability without breaking Arena-Hard-Auto's one-line-per-question layout:

* every finished game is appended (flush + fsync) to a journal,
  ``model_judgment/<judge>/.partial/<model>.jsonl``, the moment its call returns;
* when the second game of a question is in, the v0.1 line holding both games is appended to
  ``model_judgment/<judge>/<model>.jsonl``;
* on a rerun, questions with a line are done, games in the journal are reused (a question whose two games
  are both journaled gets its line at once) and only the rest are called. A kill therefore loses only the
  calls in flight; a torn last line is cut before appending; no question gets two lines.

The journal lives in a hidden folder, which Arena-Hard-Auto's ``glob(<dir>/*jsonl)`` does not see, and is
deleted once every question of the model has its line.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sosbench.errors import SosbenchError
from sosbench.judge._client import ChatModel, Completion, gather_tolerant
from sosbench.judge._files import BenchDir, Question, append_jsonl, read_jsonl, repair_tail
from sosbench.judge._parsing import parse_criteria, parse_verdict
from sosbench.judge._templates import CONTINUE_MESSAGE, JudgeTemplate


@dataclass(frozen=True)
class GameTask:
    """One judge call to make: game 0 puts the baseline in position A, game 1 puts the model there."""

    model: str
    uid: str
    game: int
    messages: tuple[dict, ...]


@dataclass(frozen=True)
class ModelFiles:
    judgment: Path
    journal: Path


@dataclass
class RunTotals:
    """What a run did: calls, tokens, and what went wrong (mutable counters of one run, never saved as config)."""

    games: int = 0
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    unparsed: int = 0
    failed: list[str] = field(default_factory=list)


def model_files(bench: BenchDir, judge_name: str, model: str) -> ModelFiles:
    folder = bench.judgment_dir(judge_name)
    name = bench.answer_target(model).name
    return ModelFiles(folder / name, folder / ".partial" / name)


def game_messages(template: JudgeTemplate, question: Question, baseline: str, answer: str, game: int) -> tuple:
    """System + user turns of one game (game 0: A = baseline, B = model; game 1: swapped)."""
    a, b = (baseline, answer) if game == 0 else (answer, baseline)
    return (
        {"role": "system", "content": template.system_prompt},
        {"role": "user", "content": template.user_prompt(question.prompt, a, b)},
    )


class JudgmentStore:
    """The judgment file and journal of one model: what is done, and durable appends."""

    def __init__(self, files: ModelFiles, model: str, judge_name: str, *, write: bool = True) -> None:
        self.files, self.model, self.judge_name = files, model, judge_name
        self.write = write  # False (dry run): read the state, change no file
        if write:
            repair_tail(files.judgment)
            repair_tail(files.journal)
        self.done: set[str] = set()
        if files.judgment.exists():
            self.done = {str(r.get("question_id", r.get("uid"))) for r in read_jsonl(files.judgment)}
        self.pending: dict[str, dict[int, dict]] = {}
        if files.journal.exists():
            for record in read_jsonl(files.journal):
                uid = str(record["question_id"])
                if uid not in self.done:
                    self.pending.setdefault(uid, {})[int(record["game"])] = record["result"]
        if write:
            for uid in [u for u, games in self.pending.items() if len(games) == 2]:
                self._write_line(uid)

    def has_game(self, uid: str, game: int) -> bool:
        return uid in self.done or game in self.pending.get(uid, {})

    def add_game(self, uid: str, game: int, result: dict) -> None:
        """Journal one finished game; write the question's line once both games are in."""
        if self.has_game(uid, game):
            return
        append_jsonl(self.files.journal, [{"question_id": uid, "model": self.model, "game": game, "result": result}])
        self.pending.setdefault(uid, {})[game] = result
        if len(self.pending[uid]) == 2:
            self._write_line(uid)

    def _write_line(self, uid: str) -> None:
        games = self.pending.pop(uid)
        line = {"question_id": uid, "model": self.model, "judge": self.judge_name, "games": [games[0], games[1]]}
        append_jsonl(self.files.judgment, [line])
        self.done.add(uid)

    def finish(self, uids: list[str]) -> None:
        """Drop the journal once every question has its line."""
        if self.write and all(u in self.done for u in uids) and self.files.journal.exists():
            self.files.journal.unlink()


@dataclass(frozen=True)
class JudgeJob:
    """Everything one `judge run` needs (a spec; the counters of the run live in RunTotals)."""

    bench: BenchDir
    template: JudgeTemplate
    judge_name: str
    models: tuple[str, ...]
    baseline: str
    questions: tuple[Question, ...]


def plan(job: JudgeJob, *, write: bool = True) -> tuple[dict[str, JudgmentStore], list[GameTask]]:
    """Open each model's store (finishing journaled questions) and list the games still to judge.

    With ``write=False`` (a dry run) no file is touched: torn lines and journals are only read.
    """
    baseline = job.bench.answers(job.baseline)
    stores: dict[str, JudgmentStore] = {}
    tasks: list[GameTask] = []
    for model in job.models:
        answers = job.bench.answers(model)
        files = model_files(job.bench, job.judge_name, model)
        store = stores[model] = JudgmentStore(files, model, job.judge_name, write=write)
        for question in job.questions:
            if question.uid not in answers or question.uid not in baseline:
                missing = model if question.uid not in answers else job.baseline
                raise SosbenchError(
                    f"{missing} has no answer for question {question.uid}: "
                    f"run `sosbench judge answer --model {missing}` to complete it"
                )
            for game in (0, 1):
                if not store.has_game(question.uid, game):
                    messages = game_messages(
                        job.template, question, baseline[question.uid].text, answers[question.uid].text, game
                    )
                    tasks.append(GameTask(model, question.uid, game, messages))
    return stores, tasks


async def judge_game(chat: ChatModel, template: JudgeTemplate, task: GameTask) -> tuple[dict, int]:
    """One game as Arena-Hard-Auto v0.1 does it: ask again ("continue ...") while no verdict parses.

    Returns the game record and the number of calls made.
    """
    conversation = list(task.messages)
    judgment, usage, calls = "", Completion(""), 0
    verdict = parse_verdict("", template.regex_pattern)
    for _ in range(max(1, template.attempts)):
        reply = await chat.complete(conversation, temperature=template.temperature, max_tokens=template.max_tokens)
        calls += 1
        usage = Completion("", usage.prompt_tokens + reply.prompt_tokens, usage.completion_tokens + reply.completion_tokens)
        judgment += "\n" + reply.text
        verdict = parse_verdict(judgment, template.regex_pattern)
        if not verdict.retry:
            break
        conversation += [{"role": "assistant", "content": reply.text}, {"role": "user", "content": CONTINUE_MESSAGE}]
    record: dict = {"user_prompt": task.messages[1]["content"], "judgment": judgment, "score": verdict.label}
    for criterion, label in parse_criteria(judgment, template.criteria).items():
        record[f"{criterion}_score"] = label
    record["usage"] = {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens}
    return record, calls


async def run_games(
    chat: ChatModel,
    template: JudgeTemplate,
    stores: dict[str, JudgmentStore],
    tasks: list[GameTask],
    on_done: Callable[[], None] = lambda: None,
) -> RunTotals:
    """Judge every task concurrently (the chat model bounds concurrency); each result is stored on arrival.

    A game whose call kept failing transiently is listed in ``failed`` (a rerun retries it); any other API
    error stops the run with a one-line :class:`SosbenchError`. Games already stored stay stored.
    """
    totals = RunTotals()

    async def one(task: GameTask) -> None:
        try:
            record, calls = await judge_game(chat, template, task)
        finally:
            on_done()
        stores[task.model].add_game(task.uid, task.game, record)
        totals.games += 1
        totals.calls += calls
        totals.prompt_tokens += record["usage"]["prompt_tokens"]
        totals.completion_tokens += record["usage"]["completion_tokens"]
        totals.unparsed += record["score"] is None

    totals.failed = await gather_tolerant(tasks, one, lambda t: f"{t.model} {t.uid} game {t.game + 1}")
    return totals


@dataclass(frozen=True)
class DryRunEstimate:
    """What a run would cost, without calling anything."""

    games: int
    calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None


CHARS_PER_TOKEN = 4.0  # OpenAI's rule of thumb for English; tiktoken's vocabularies are not available offline


def estimate(tasks: list[GameTask], completion_tokens_per_call: int, price: tuple[float, float] | None) -> DryRunEstimate:
    """Calls (one per game; a retry for a missing verdict adds more), tokens and USD (see :func:`cost_usd`)."""
    prompt = sum(int(sum(len(m["content"]) for m in t.messages) / CHARS_PER_TOKEN) for t in tasks)
    completion = completion_tokens_per_call * len(tasks)
    return DryRunEstimate(len(tasks), len(tasks), prompt, completion, cost_usd(prompt, completion, price))


def cost_usd(prompt_tokens: int, completion_tokens: int, price: tuple[float, float] | None) -> float | None:
    """USD for these tokens at ``price`` = (input, output) USD per 1M tokens (from :func:`price_for`); None if unknown."""
    if price is None:
        return None
    return (prompt_tokens * price[0] + completion_tokens * price[1]) / 1e6


def load_prices(path: Path | None = None) -> dict[str, dict[str, float]]:
    """USD per 1M input/output tokens by model name: ``path`` (``--prices FILE``) or data/judge/prices.yaml.

    The file holds ``prices: {name: {input: float, output: float}}``; see :func:`price_for` for the lookup.
    """
    import yaml

    from sosbench.judge._templates import data_file

    source = path if path is not None else data_file("judge", "prices.yaml")
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SosbenchError(f"--prices {source}: no such file") from None
    except yaml.YAMLError as exc:
        raise SosbenchError(f"--prices {source}: not valid YAML ({exc.__class__.__name__})") from exc
    table = data.get("prices") if isinstance(data, dict) else None
    if not isinstance(table, dict):
        raise SosbenchError(f"--prices {source}: expected a `prices:` mapping of model -> {{input, output}}")
    prices: dict[str, dict[str, float]] = {}
    for name, entry in table.items():
        try:
            prices[str(name)] = {"input": float(entry["input"]), "output": float(entry["output"])}
        except (TypeError, KeyError, ValueError):
            raise SosbenchError(
                f"--prices {source}: {name} needs numeric input and output (USD per 1M tokens)"
            ) from None
    return prices


def price_for(prices: dict[str, dict[str, float]], model: str) -> tuple[float, float] | None:
    """(input, output) USD per 1M tokens: an exact key, else the longest key the name starts with; else None."""
    name = model.rstrip("/").split("/")[-1]
    entry = prices.get(name)
    if entry is None:
        keys = [k for k in prices if name.startswith(k)]
        entry = prices[max(keys, key=len)] if keys else None
    return (entry["input"], entry["output"]) if entry else None


def judgment_summary(path: Path) -> dict[str, int]:
    """Lines and games with an unparsed overall verdict in a judgment file."""
    lines = list(read_jsonl(path))
    unparsed = sum(1 for r in lines for g in r.get("games", []) if not g or g.get("score") is None)
    return {"questions": len(lines), "unparsed": unparsed}


def dumps(record: dict) -> str:
    return json.dumps(record, ensure_ascii=False)
