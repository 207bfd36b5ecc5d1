"""Running a judge: two games per question (positions swapped), every judge call journaled as it returns.

Durability without breaking Arena-Hard-Auto's one-line-per-question layout:

* every finished call (a game's first attempt, or its "continue" attempt) is appended (flush + fsync) to a
  journal, ``model_judgment/<judge>/.partial/<model>.jsonl``, the moment it returns;
* a game is done when its verdict parses or its attempts are used up; when both games of a question are
  done, the line holding them (in the benchmark's layout, v0.1's or v2.0's) is appended to
  ``model_judgment/<judge>/<model>.jsonl``;
* on a rerun, questions with a line are done, journaled calls are reused (a game resumes at its next
  attempt, a question whose games are both complete gets its line at once) and only the rest are called.
  A kill therefore loses only the calls in flight; a torn last line is cut before appending; no question
  gets two lines.
* at most ``--parallel`` games are in flight and each runs its attempts back to back, so a game's second
  attempt never waits behind every other game's first one.

Judgments are keyed by the full judge id, the template's hash, the baseline and the benchmark
(:class:`JudgeKey`): the
folder records them in ``sosbench-judge.json``, every line and journal record carries them, and a run
whose key differs from what a folder or file holds is refused instead of mixing judgments.

The journal lives in a hidden folder, which Arena-Hard-Auto's ``glob(<dir>/*jsonl)`` does not see, and is
deleted once every question of the model has its line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from sosbench._io import (
    MAX_YAML_BYTES,
    append_jsonl,
    iter_jsonl,
    load_yaml,
    read_json_object,
    read_text,
    write_json_atomic,
)
from sosbench.errors import SosbenchError, from_validation
from sosbench.judge._benchmarks import V01
from sosbench.judge._client import ChatModel, Completion, gather_tolerant
from sosbench.judge._files import BenchDir, Question, judged_by, mixing_refused, repair_tail
from sosbench.judge._parsing import ParsedVerdict, parse_criteria
from sosbench.judge._templates import CONTINUE_MESSAGE, JudgeTemplate

JUDGE_META = "sosbench-judge.json"


@dataclass(frozen=True)
class JudgeKey:
    """What makes two judgments comparable: the same judge, template, baseline and benchmark."""

    judge: str  # the full judge id as given to --judge (org/model kept whole)
    template: str  # the template's name (built-in name or file stem), for messages
    template_sha256: str  # JudgeTemplate.sha256: what decides
    baseline: str  # v2.0: each category's, "hard_prompt:o3-mini-...,creative_writing:gemini-..."
    benchmark: str = V01

    @classmethod
    def of(cls, judge: str, template: JudgeTemplate, baseline: str, benchmark: str = V01) -> JudgeKey:
        return cls(judge, template.name, template.sha256, baseline, benchmark)

    def describe(self) -> str:
        template = f"{self.template} ({self.template_sha256[:12]})"
        where = f", {self.benchmark}" if self.benchmark != V01 else ""
        return f"judge {self.judge!r}, template {template}, baseline {self.baseline}{where}"


@dataclass(frozen=True)
class GameTask:
    """One game still to finish: game 0 puts the baseline in position A, game 1 puts the model there."""

    model: str
    uid: str
    game: int
    messages: tuple[dict, ...]
    prior: tuple[Completion, ...] = ()  # journaled calls of this game (a rerun continues after them)
    category: str = V01  # the question's category and its baseline (v2.0 lines record both)
    baseline: str = ""


@dataclass(frozen=True)
class ModelFiles:
    judgment: Path
    journal: Path


@dataclass
class RunTotals:
    """What a run did: calls, tokens, and what went wrong (counters of one run, never saved as config)."""

    games: int = 0
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    unparsed: int = 0
    failed: list[str] = field(default_factory=list)


def model_files(bench: BenchDir, judge: str, model: str) -> ModelFiles:
    folder = bench.judgment_dir(judge)
    name = bench.answer_target(model).name
    return ModelFiles(folder / name, folder / ".partial" / name)


def game_messages(
    template: JudgeTemplate, question: Question, baseline: str, answer: str, game: int
) -> tuple:
    """System + user turns of one game (game 0: A = baseline, B = model; game 1: swapped)."""
    a, b = (baseline, answer) if game == 0 else (answer, baseline)
    return (
        {"role": "system", "content": template.system_prompt_for(question.category)},
        {"role": "user", "content": template.user_prompt(question.prompt, a, b)},
    )


# ------------------------------------------------------------------------------------------ folder key


def _holds_judgments(folder: Path) -> bool:
    return any(folder.glob("*.jsonl")) or any((folder / ".partial").glob("*.jsonl"))


def check_judge_folder(folder: Path, key: JudgeKey) -> bool:
    """Refuse a folder holding judgments of another key; True when its ``sosbench-judge.json`` needs writing.

    A folder with judgments but no key file (Arena-Hard-Auto's, or an older sosbench's) cannot be told
    apart and is refused too: extending it could mix templates without anyone noticing.
    """
    meta_path = folder / JUDGE_META
    holds = folder.is_dir() and _holds_judgments(folder)
    if not meta_path.exists():
        if holds:
            raise SosbenchError(
                f"{folder} holds judgments that record no judge template ({JUDGE_META} is missing: "
                "Arena-Hard-Auto's or an older sosbench's); judge into another --bench-dir, or move them away"
            )
        return True
    meta = read_json_object(meta_path, "judge key file")
    found = JudgeKey(
        str(meta.get("judge")),
        str(meta.get("template")),
        str(meta.get("template_sha256")),
        str(meta.get("baseline")),
        str(meta.get("benchmark", V01)),
    )
    if (
        found.judge == key.judge
        and found.template_sha256 == key.template_sha256
        and found.baseline == key.baseline
        and found.benchmark == key.benchmark
    ):
        return False
    if not holds:  # a key file left by a run that judged nothing: nothing to mix with
        return True
    raise mixing_refused(
        folder, found.describe(), key.describe(), "judge into another --bench-dir, or move that folder away"
    )


def write_judge_key(folder: Path, key: JudgeKey) -> None:
    write_json_atomic(
        folder / JUDGE_META,
        {
            "judge": key.judge,
            "template": key.template,
            "template_sha256": key.template_sha256,
            "baseline": key.baseline,
            "benchmark": key.benchmark,
        },
    )


def read_judge_key(folder: Path) -> dict | None:
    """The judge key file of a folder, None when it has none."""
    path = folder / JUDGE_META
    return read_json_object(path, "judge key file") if path.exists() else None


# ------------------------------------------------------------------------------------------ games


def replay(
    template: JudgeTemplate, replies: tuple[Completion, ...] | list[Completion]
) -> tuple[str, ParsedVerdict, bool]:
    """The judgment text so far, its verdict, and whether the game is over (a verdict, or attempts spent).

    v0.1 joins the attempts as its reference did (each after a newline); a v2.0 game is one reply, stored as
    it came."""
    if template.last_match:
        judgment = "\n".join(r.text for r in replies)
    else:
        judgment = "".join("\n" + r.text for r in replies)
    verdict = template.verdict(judgment)
    over = bool(replies) and (not verdict.retry or len(replies) >= max(1, template.attempts))
    return judgment, verdict, over


def game_record(
    template: JudgeTemplate,
    task: GameTask,
    replies: list[Completion] | tuple[Completion, ...],
    per_question: bool = False,
) -> dict:
    """A finished game in the benchmark's game layout plus criterion fields and usage.

    v0.1: ``{user_prompt, judgment, score}`` with the canonical label. v2.0 (``per_question``): ``{score,
    judgment: {answer}, prompt}`` with the label as matched, as v2.0's ``gen_judgment.py`` writes it.
    """
    judgment, verdict, _ = replay(template, replies)
    record: dict
    if per_question:
        record = {
            "score": verdict.raw or verdict.label,
            "judgment": {"answer": judgment},
            "prompt": list(task.messages),
        }
    else:
        record = {"user_prompt": task.messages[1]["content"], "judgment": judgment, "score": verdict.label}
    for criterion, label in parse_criteria(judgment, template.criteria).items():
        record[f"{criterion}_score"] = label
    record["usage"] = {
        "prompt_tokens": sum(r.prompt_tokens for r in replies),
        "completion_tokens": sum(r.completion_tokens for r in replies),
    }
    if any(r.truncated for r in replies):
        record["truncated"] = True
    return record


async def judge_game(
    chat: ChatModel,
    template: JudgeTemplate,
    task: GameTask,
    on_call: Callable[[int, Completion], None] = lambda index, reply: None,
    per_question: bool = False,
) -> tuple[dict, int]:
    """One game as Arena-Hard-Auto v0.1 does it: ask again ("continue ...") while no verdict parses.

    Continues after ``task.prior`` (journaled calls); ``on_call(index, reply)`` runs as each call returns.
    Returns the game record and the number of calls made.
    """
    replies = list(task.prior)
    conversation = list(task.messages)
    for reply in replies:
        conversation += [
            {"role": "assistant", "content": reply.text},
            {"role": "user", "content": CONTINUE_MESSAGE},
        ]
    calls = 0
    while not replay(template, replies)[2]:
        reply = await chat.complete(
            conversation, temperature=template.temperature, max_tokens=template.max_tokens
        )
        calls += 1
        on_call(len(replies), reply)
        replies.append(reply)
        conversation = [
            *conversation,
            {"role": "assistant", "content": reply.text},
            {"role": "user", "content": CONTINUE_MESSAGE},
        ]
    return game_record(template, task, replies, per_question), calls


# ------------------------------------------------------------------------------------------ store


class JournalCall(BaseModel):
    """One journaled judge call (a line of ``.partial/<model>.jsonl``)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    question_id: str
    model: str
    game: int
    call: int
    judge: str
    template_sha256: str
    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    truncated: bool = False


class JudgmentStore:
    """The judgment file and journal of one model: what is done, and durable appends."""

    def __init__(self, files: ModelFiles, model: str, key: JudgeKey, *, write: bool = True) -> None:
        self.files, self.model, self.key = files, model, key
        self.write = write  # False (dry run): read the state, change no file
        if write:
            repair_tail(files.judgment)
            repair_tail(files.journal)
        self.done: set[str] = set()
        if files.judgment.exists():
            for number, line in iter_jsonl(files.judgment, "judgment file", torn_tail_ok=True):
                self.done.add(self._check_line(line, f"{files.judgment}:{number}"))
        self.complete: dict[str, dict[int, dict]] = {}  # finished games of questions without a line yet
        self.calls: dict[tuple[str, int], list[Completion]] = {}
        if files.journal.exists():
            for number, row in iter_jsonl(files.journal, "judge journal", torn_tail_ok=True):
                call = self._check_call(row, f"{files.journal}:{number}")
                replies = self.calls.setdefault((call.question_id, call.game), [])
                if call.question_id not in self.done and call.call == len(
                    replies
                ):  # a duplicate or gap: ignored
                    replies.append(
                        Completion(call.text, call.prompt_tokens, call.completion_tokens, call.truncated)
                    )

    def _check_line(self, line: dict, where: str) -> str:
        uid = line.get("uid", line.get("question_id"))
        if not isinstance(uid, (str, int)) or not isinstance(line.get("games"), list):
            raise SosbenchError(
                f"{where}: a judgment line needs uid (or question_id) and games (Arena-Hard-Auto's layout)"
            )
        if line.get("model") != self.model:
            raise SosbenchError(
                f"{where}: a judgment of model {line.get('model')!r}, not {self.model!r}: "
                "move that file away; it belongs to another model"
            )
        if line.get("judge") != self.key.judge or line.get("template_sha256") != self.key.template_sha256:
            raise mixing_refused(
                where,
                judged_by(line.get("judge"), line.get("template_sha256")),
                f"this run ({self.key.describe()})",
                "move that file away",
            )
        return str(uid)

    def _check_call(self, row: dict, where: str) -> JournalCall:
        try:
            call = JournalCall.model_validate(row)
        except ValidationError as exc:
            raise from_validation(
                exc, f"{where}: not a judge-call record", "delete the journal to redo its calls"
            ) from None
        if call.game not in (0, 1) or call.call < 0:
            raise SosbenchError(
                f"{where}: game must be 0 or 1 and call not negative; delete the journal to redo its calls"
            )
        if (
            call.model != self.model
            or call.judge != self.key.judge
            or call.template_sha256 != self.key.template_sha256
        ):
            raise SosbenchError(
                f"{where}: a call of {call.model!r} by {call.judge!r} with template "
                f"{call.template_sha256[:12]}, not {self.model!r} with {self.key.describe()}: "
                "delete the journal to redo its calls"
            )
        return call

    def has_game(self, uid: str, game: int) -> bool:
        return uid in self.done or game in self.complete.get(uid, {})

    def prior(self, uid: str, game: int) -> tuple[Completion, ...]:
        return tuple(self.calls.get((uid, game), ()))

    def add_call(self, uid: str, game: int, index: int, reply: Completion) -> None:
        """Journal one finished call before anything else happens to it."""
        row = JournalCall(
            question_id=uid,
            model=self.model,
            game=game,
            call=index,
            judge=self.key.judge,
            template_sha256=self.key.template_sha256,
            text=reply.text,
            prompt_tokens=reply.prompt_tokens,
            completion_tokens=reply.completion_tokens,
            truncated=reply.truncated,
        )
        if self.write:
            append_jsonl(self.files.journal, [row.model_dump(exclude_defaults=True)])
        self.calls.setdefault((uid, game), []).append(reply)

    def add_game(self, task: GameTask, record: dict) -> None:
        """Note one finished game; write the question's line once both games are in."""
        uid = task.uid
        if self.has_game(uid, task.game):
            return
        self.complete.setdefault(uid, {})[task.game] = record
        if len(self.complete[uid]) == 2 and self.write:
            games = self.complete.pop(uid)
            head: dict
            if self.key.benchmark == V01:
                head = {"question_id": uid, "model": self.model, "judge": self.key.judge}
            else:  # v2.0's line: uid, category, judge, model, baseline
                head = {
                    "uid": uid,
                    "category": task.category,
                    "judge": self.key.judge,
                    "model": self.model,
                    "baseline": task.baseline,
                }
            line = {
                **head,
                "games": [games[0], games[1]],
                "template": self.key.template,
                "template_sha256": self.key.template_sha256,
            }
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
    key: JudgeKey
    models: tuple[str, ...]
    questions: tuple[Question, ...]

    def baseline_of(self, question: Question) -> str:
        """The model a question's answers are compared with: its category's (v2.0) or the key's."""
        if self.bench.benchmark.per_question:
            return self.bench.benchmark.category(question.category).baseline
        return self.key.baseline


def plan(job: JudgeJob, *, write: bool = True) -> tuple[dict[str, JudgmentStore], list[GameTask]]:
    """Open each model's store (finishing journaled games) and list the games still to judge.

    With ``write=False`` (a dry run) no file is touched: torn lines and journals are only read.
    """
    per_question = job.bench.benchmark.per_question
    baselines = {name: job.bench.answers(name) for name in dict.fromkeys(map(job.baseline_of, job.questions))}
    stores: dict[str, JudgmentStore] = {}
    tasks: list[GameTask] = []
    for model in job.models:
        answers = job.bench.answers(model)
        files = model_files(job.bench, job.key.judge, model)
        store = stores[model] = JudgmentStore(files, model, job.key, write=write)
        for question in job.questions:
            base_name = job.baseline_of(question)
            baseline = baselines[base_name]
            if question.uid not in answers or question.uid not in baseline:
                missing = model if question.uid not in answers else base_name
                raise SosbenchError(
                    f"{missing} has no answer for question {question.uid}: "
                    f"run `sosbench judge answer --model {missing}` to complete it"
                )
            for game in (0, 1):
                if store.has_game(question.uid, game):
                    continue
                messages = game_messages(
                    job.template, question, baseline[question.uid].text, answers[question.uid].text, game
                )
                prior = store.prior(question.uid, game)
                task = GameTask(model, question.uid, game, messages, prior, question.category, base_name)
                if replay(job.template, task.prior)[2]:  # every call of it is journaled: done without a call
                    store.add_game(task, game_record(job.template, task, task.prior, per_question))
                else:
                    tasks.append(task)
    return stores, tasks


async def run_games(
    chat: ChatModel,
    template: JudgeTemplate,
    stores: dict[str, JudgmentStore],
    tasks: list[GameTask],
    on_done: Callable[[], None] = lambda: None,
    concurrency: int = 8,
    per_question: bool = False,
) -> RunTotals:
    """Judge the tasks, at most ``concurrency`` games at once; every call is journaled as it returns.

    A game whose call kept failing transiently, or got an unusable reply, is listed in ``failed`` (a rerun
    continues it from its journaled calls); any other API error stops the run with a one-line
    :class:`SosbenchError`. Everything journaled stays.
    """
    totals = RunTotals()

    async def one(task: GameTask) -> None:
        store = stores[task.model]
        try:
            record, calls = await judge_game(
                chat,
                template,
                task,
                lambda index, reply: store.add_call(task.uid, task.game, index, reply),
                per_question,
            )
        finally:
            on_done()
        store.add_game(task, record)
        totals.games += 1
        totals.calls += calls
        totals.prompt_tokens += record["usage"]["prompt_tokens"]
        totals.completion_tokens += record["usage"]["completion_tokens"]
        totals.unparsed += record["score"] is None

    totals.failed = await gather_tolerant(
        tasks, one, lambda t: f"{t.model} {t.uid} game {t.game + 1}", concurrency
    )
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


def estimate(
    tasks: list[GameTask], completion_tokens_per_call: int, price: tuple[float, float] | None
) -> DryRunEstimate:
    """Calls (one per game; a retry for a missing verdict adds more), tokens and USD (:func:`cost_usd`)."""
    prompt = sum(int(sum(len(m["content"]) for m in t.messages) / CHARS_PER_TOKEN) for t in tasks)
    completion = completion_tokens_per_call * len(tasks)
    return DryRunEstimate(len(tasks), len(tasks), prompt, completion, cost_usd(prompt, completion, price))


def cost_usd(prompt_tokens: int, completion_tokens: int, price: tuple[float, float] | None) -> float | None:
    """USD for these tokens at ``price`` = (input, output) USD per 1M tokens (:func:`price_for`), or None."""
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
        data = load_yaml(read_text(source, "prices file (YAML)", MAX_YAML_BYTES), f"--prices {source}")
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
    """(input, output) USD per 1M tokens: exact key, else the longest key the name starts with, or None."""
    name = model.rstrip("/").split("/")[-1]
    entry = prices.get(name)
    if entry is None:
        keys = [k for k in prices if name.startswith(k)]
        entry = prices[max(keys, key=len)] if keys else None
    return (entry["input"], entry["output"]) if entry else None


def judgment_summary(path: Path) -> dict[str, int]:
    """Lines and games with an unparsed overall verdict in a judgment file."""
    lines = [row for _, row in iter_jsonl(path, "judgment file", torn_tail_ok=True)]
    unparsed = sum(1 for r in lines for g in r.get("games", []) if not g or g.get("score") is None)
    return {"questions": len(lines), "unparsed": unparsed}
