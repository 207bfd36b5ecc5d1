"""The judge library: verdict parsing, battle counting, Bradley-Terry, scores, resume state, prices, audit.

Bradley-Terry is checked against data drawn from known strengths and against independent implementations
written here differently (closed-form win rates and a scipy logistic MLE on the raw battle table).
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from sosbench.errors import SosbenchError
from sosbench.judge import (
    BenchDir,
    ScoreOptions,
    build_battles,
    fit_bradley_terry,
    intervention_losses,
    load_prices,
    load_template,
    price_for,
    score_judgments,
)
from sosbench.judge._battles import Judgment
from sosbench.judge._client import Completion
from sosbench.judge._files import Answer, Question, file_stem
from sosbench.judge._judging import JudgeJob, JudgeKey, model_files, plan, run_games
from sosbench.judge._parsing import normalize_verdict, parse_criteria, parse_verdict
from sosbench.judge._run import ModelSummary, RunEvent, judge_job, plan_judgments, run_judgments
from sosbench.judge._scores import ALL_CRITERIA

BASE = "gpt-4-0314"


# ------------------------------------------------------------------------------------------------------------
# parsing
# ------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("My final verdict is tie: [[A=B]]", "A=B"),
        ("Assistant B is better: [[B>A]]", "B>A"),
        ("[[A>>B]]", "A>>B"),
        ("verdict [[A<B]]", "B>A"),  # the reference dropped these
        ("verdict [[A<<B]]", "B>>A"),
        ("[[B<A]]", "A>B"),
        ("[[B<<A]]", "A>>B"),
        ("[[B=A]]", "A=B"),
        ("first [[A>B]] and again [[A>B]]", "A>B"),
    ],
)
def test_overall_verdicts_parse_including_less_than_forms(text: str, label: str) -> None:
    assert parse_verdict(text).label == label


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("no verdict here", "missing"),
        ("[[A>B]] then [[B>A]]", "conflicting"),
        ("[[A>>>B]]", "invalid"),
        ("", "missing"),
    ],
)
def test_unreadable_verdicts_are_none_with_a_reason(text: str, reason: str) -> None:
    parsed = parse_verdict(text)
    assert parsed.label is None
    assert parsed.reason == reason
    assert parsed.retry == (reason == "missing")


def test_criterion_verdicts_parse_less_than_forms_and_markdown() -> None:
    template = load_template("sos-multicriteria")
    assert template.criteria == ("correctness", "completeness", "safety", "conciseness", "style")
    text = (
        "Correctness: ((A<B)) because ...\n**Completeness:** ((A<<B))\nSafety: ((A=B))\n"
        "Conciseness: ((A>>B))\nStyle: ((B<A))\nMy final verdict: [[B>A]]"
    )
    assert parse_criteria(text, template.criteria) == {
        "correctness": "B>A",
        "completeness": "B>>A",
        "safety": "A=B",
        "conciseness": "A>>B",
        "style": "A>B",
    }
    assert parse_criteria("Style: nothing", ("style",)) == {"style": None}
    assert load_template("arena-hard").criteria == ()
    assert normalize_verdict(" A < < B ") == "B>>A"
    assert normalize_verdict("C>A") is None
    assert normalize_verdict(None) is None


# ------------------------------------------------------------------------------------------------------------
# battles
# ------------------------------------------------------------------------------------------------------------
def _game(label: str | None, **criteria: str | None) -> dict:
    record: dict = {"user_prompt": "...", "judgment": "...", "score": label}
    record.update({f"{k}_score": v for k, v in criteria.items()})
    return record


def test_battle_counting_rules() -> None:
    judgments = [
        Judgment("m", "q1", 0, _game("B>>A")),  # game 1, model in B, much better: 3 wins
        Judgment("m", "q1", 1, _game("A>B")),  # game 2, model in A, better: 1 win
        Judgment("m", "q2", 0, _game("A=B")),  # tie: one battle scored 0.5
        Judgment("m", "q2", 1, _game("A<<B")),  # game 2, baseline (B) much better: 3 losses
        Judgment("m", "q3", 0, _game(None)),  # unreadable: dropped and counted
        Judgment("m", "q3", 1, _game("A<B")),  # = B>A in game 2: baseline better, 1 loss
        Judgment(BASE, "q1", 0, _game("A=B")),  # the baseline's own file is ignored
    ]
    battles = build_battles(judgments, "overall", BASE)
    assert battles.models == (BASE, "m")
    assert sorted(battles.outcome.tolist()) == [0.0, 0.0, 0.0, 0.0, 0.5, 1.0, 1.0, 1.0, 1.0]
    assert battles.unparsed == {"m": 1}
    assert set(battles.opponent.tolist()) == {0}


def test_criterion_battles_use_stored_fields_else_parse_the_text() -> None:
    judgments = [
        Judgment("m", "q1", 0, _game("B>A", style="B>>A")),
        Judgment("m", "q1", 1, {"judgment": "Style: ((A<B))\n[[A=B]]"}),  # no stored fields: parsed
    ]
    style = build_battles(judgments, "style", BASE)
    assert sorted(style.outcome.tolist()) == [0.0, 1.0, 1.0, 1.0]
    overall = build_battles(judgments, "overall", BASE)
    assert sorted(overall.outcome.tolist()) == [0.5, 1.0]


def test_no_readable_verdict_is_an_error_not_a_score() -> None:
    with pytest.raises(SosbenchError, match="no readable overall verdicts"):
        build_battles([Judgment("m", "q1", 0, _game(None))], "overall", BASE)


# ------------------------------------------------------------------------------------------------------------
# Bradley-Terry
# ------------------------------------------------------------------------------------------------------------
def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def test_bt_recovers_known_strengths_from_battles_against_the_anchor() -> None:
    rng = np.random.default_rng(7)
    truth = np.array([0.0, -1.6, -0.4, 0.3, 1.2, 2.4])
    n = 3000
    model = np.repeat(np.arange(1, len(truth)), n)
    outcome = (rng.random(model.size) < _sigmoid(truth[model])).astype(float)
    names = tuple(f"m{i}" for i in range(len(truth)))
    fit = fit_bradley_terry(names, model, np.zeros_like(model), outcome, rounds=30, seed=1)
    assert np.argsort(fit.strength).tolist() == np.argsort(truth).tolist()
    assert np.abs(fit.strength - truth).max() < 0.15
    low, high = fit.win_rate_interval()
    rate = fit.win_rate()
    assert np.all(low <= rate + 1e-9) and np.all(rate <= high + 1e-9)
    assert np.all(high[1:] - low[1:] > 0.2)  # real intervals, not points
    true_rate = 100 * _sigmoid(truth)
    assert np.mean((low[1:] <= true_rate[1:] + 1.5) & (true_rate[1:] - 1.5 <= high[1:])) == 1.0


def test_bt_matches_scipy_logistic_mle_on_a_round_robin_with_ties() -> None:
    """A general comparison graph (not only against the anchor), fitted independently with scipy."""
    from scipy.optimize import minimize

    rng = np.random.default_rng(3)
    truth = np.array([0.0, 0.8, -0.7, 1.5])
    pairs = [(i, j) for i in range(4) for j in range(4) if i < j]
    model, opponent, outcome = [], [], []
    for i, j in pairs:
        p = _sigmoid(truth[i] - truth[j])
        for _ in range(400):
            u = rng.random()
            model.append(i)
            opponent.append(j)
            outcome.append(0.5 if abs(u - p) < 0.1 else float(u < p))
    model_a, opponent_a, outcome_a = np.array(model), np.array(opponent), np.array(outcome)
    fit = fit_bradley_terry(("a", "b", "c", "d"), model_a, opponent_a, outcome_a, rounds=0)

    def nll(free: np.ndarray) -> float:  # Elo scale, base 10, anchor fixed at 1000
        elo = np.concatenate([[1000.0], free])
        diff = (elo[model_a] - elo[opponent_a]) * math.log(10) / 400
        return float(np.sum(np.logaddexp(0, -diff) * outcome_a + np.logaddexp(0, diff) * (1 - outcome_a)))

    ref = minimize(nll, np.full(3, 1000.0), method="BFGS", options={"gtol": 1e-8}).x
    ref_rate = 100 / (1 + 10 ** ((1000 - ref) / 400))
    assert np.abs(fit.win_rate()[1:] - ref_rate).max() < 0.1
    assert np.abs(fit.elo()[1:] - ref).max() < 1.0


def _write_judgments(folder: Path, verdicts: dict[str, list[tuple[str | None, str | None]]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for model, games in verdicts.items():
        lines = [
            {"question_id": f"q{i}", "model": model, "judge": "j", "games": [_game(g1), _game(g2)]}
            for i, (g1, g2) in enumerate(games)
        ]
        (folder / f"{model}.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))


LABELS = ("A>>B", "A>B", "A=B", "B>A", "B>>A", "A<B", "A<<B", None)


def _random_verdicts(seed: int, models: dict[str, float], questions: int) -> dict:
    rng = np.random.default_rng(seed)
    out = {}
    for model, lean in models.items():
        weights = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 0.3, 0.3, 0.1])
        weights[3:5] *= lean
        weights[0:2] /= lean
        probs = weights / weights.sum()
        mirror = {
            "A>>B": "B>>A",
            "A>B": "B>A",
            "A=B": "A=B",
            "B>A": "A>B",
            "B>>A": "A>>B",
            "A<B": "B<A",
            "A<<B": "B<<A",
            None: None,
        }
        draws = rng.choice(len(LABELS), size=(questions, 2), p=probs)  # in game-1 terms (model in B)
        out[model] = [(LABELS[a], mirror[LABELS[b]]) for a, b in draws]
    return out


def test_scores_agree_with_an_independent_count_and_refit(tmp_path: Path) -> None:
    """Against the baseline only, the MLE win rate is the weighted win share, computed here from labels."""
    verdicts = _random_verdicts(11, {"weak": 0.4, "even": 1.0, "strong": 2.5}, 120)
    folder = tmp_path / "model_judgment" / "j"
    _write_judgments(folder, verdicts)
    board = score_judgments(folder, ScoreOptions(baseline=BASE, rounds=20, seed=42))
    result = board.result("overall")
    scores = result.as_dict()
    # model's side of each label: game 1 has the model in B, game 2 in A
    model_b = {
        "B>>A": (1, 3),
        "B>A": (1, 1),
        "A<<B": (1, 3),
        "A<B": (1, 1),
        "A=B": (0.5, 1),
        "A>B": (0, 1),
        "A>>B": (0, 3),
        "B<A": (0, 1),
        "B<<A": (0, 3),
    }
    for model, games in verdicts.items():
        wins = total = 0.0
        unparsed = 0
        for g1, g2 in games:
            for label, swap in ((g1, False), (g2, True)):
                if label is None:
                    unparsed += 1
                    continue
                win, weight = model_b[label]
                win = 1 - win if swap else win
                wins += win * weight
                total += weight
        assert abs(scores[model] - 100 * wins / total) < 0.1
        assert result.unparsed[model] == unparsed
    assert scores[BASE] == pytest.approx(50.0)
    order = sorted(scores, key=scores.get)
    assert order == ["weak", BASE, "even", "strong"] or order == ["weak", "even", BASE, "strong"]

    # bootstrap: the same resample indices (legacy RandomState(42), randint per round) refitted one by one
    battles = build_battles([j for j in _all_judgments(folder)], "overall", BASE)
    rng = np.random.RandomState(42)
    per_round = []
    for _ in range(20):
        pick = rng.randint(0, len(battles.outcome), size=len(battles.outcome))
        rates = {}
        for index, model in enumerate(battles.models[1:], start=1):
            chosen = battles.outcome[pick][battles.model[pick] == index]
            share = np.clip(chosen.mean(), 1e-9, 1 - 1e-9)
            rates[model] = math.log(share / (1 - share))
        per_round.append(rates)
    for model, low, high in zip(result.models[1:], result.lower[1:], result.upper[1:], strict=True):
        t = np.array([r[model] for r in per_round])
        lo, hi = np.percentile(t, [2.5, 97.5])
        assert abs(100 * _sigmoid(lo) - low) < 0.1
        assert abs(100 * _sigmoid(hi) - high) < 0.1


def _all_judgments(folder: Path) -> list[Judgment]:
    from sosbench.judge import read_judgments

    return read_judgments(folder)


def test_criterion_columns_and_intervention_losses(tmp_path: Path) -> None:
    folder = tmp_path / "j"
    folder.mkdir()
    lines = []
    for model, style in (("m", "B>A"), ("m@concise", "A>B")):
        for q in range(6):
            games = [_game("B>A", style=style), _game("A>B" if style == "B>A" else "B>A", style=style)]
            games[1]["style_score"] = "A>B" if style == "B>A" else "B>A"
            if q == 0:
                games[0]["score"] = "A=B"
            lines.append({"question_id": f"q{q}", "model": model, "judge": "j", "games": games})
    for model in ("m", "m@concise"):
        (folder / f"{model}.jsonl").write_text(
            "".join(json.dumps(x) + "\n" for x in lines if x["model"] == model)
        )
    board = score_judgments(folder, ScoreOptions(baseline=BASE, criteria=ALL_CRITERIA, rounds=0))
    assert [r.criterion for r in board.results] == ["overall", "style"]  # others absent: skipped under "all"
    frame = board.frame()
    assert list(frame.columns[:5]) == ["model", "score", "rating_q025", "rating_q975", "CI"]
    assert "style_score" in frame.columns and "style_CI" in frame.columns
    losses = {(x.model, x.kind, x.criterion): x for x in intervention_losses(board)}
    style = losses[("m", "concise", "style")]
    assert style.original > 90 and style.perturbed < 10 and style.loss_percent > 85
    with pytest.raises(SosbenchError, match="no correctness verdicts"):
        score_judgments(folder, ScoreOptions(baseline=BASE, criteria=("overall", "correctness"), rounds=0))


# ------------------------------------------------------------------------------------------------------------
# resume state
# ------------------------------------------------------------------------------------------------------------
def test_judgment_store_resumes_from_journaled_calls_and_cuts_torn_lines(tmp_path: Path) -> None:
    template = load_template("arena-hard")  # two attempts: a game without a verdict gets a "continue" call
    key = JudgeKey.of("org/judge-x", template, BASE)
    bench = BenchDir(tmp_path)
    files = model_files(bench, key.judge, "m")
    assert (
        files.judgment.parent.name == file_stem("org/judge-x") != "judge-x"
    )  # the full id, not its last part
    files.journal.parent.mkdir(parents=True)

    def call(uid: str, game: int, index: int, text: str) -> dict:
        return {
            "question_id": uid,
            "model": "m",
            "game": game,
            "call": index,
            "judge": key.judge,
            "template_sha256": key.template_sha256,
            "text": text,
            "prompt_tokens": 10,
            "completion_tokens": 2,
        }

    journal = [
        call("q1", 0, 0, "[[A>B]]"),  # q1 game 1 done in one call
        call(
            "q1", 1, 0, "no verdict yet"
        ),  # q1 game 2: first attempt journaled, the continuation was in flight
        call("q2", 0, 0, "[[B>A]]"),
        call("q2", 1, 0, "hmm"),
        call("q2", 1, 1, "[[A=B]]"),  # q2 game 2 finished on its second attempt
    ]
    files.journal.write_text("".join(json.dumps(x) + "\n" for x in journal) + '{"question_id": "q3", "ga')
    line = {
        "question_id": "q0",
        "model": "m",
        "judge": key.judge,
        "games": [{}, {}],
        "template": template.name,
        "template_sha256": key.template_sha256,
    }
    files.judgment.write_text(json.dumps(line) + "\n")
    questions = tuple(Question(f"q{i}", f"question {i}") for i in range(4))
    answers = {m: {q.uid: Answer(q.uid, m, f"{m} says {q.uid}") for q in questions} for m in ("m", BASE)}
    bench = _FixedAnswers(tmp_path, answers)
    job = JudgeJob(bench, template, key, ("m",), questions)

    _, dry_tasks = plan(job, write=False)
    assert files.judgment.read_text().count("\n") == 1  # a dry run writes nothing
    stores, tasks = plan(job)
    store = stores["m"]
    assert store.done == {"q0", "q2"}  # q2's journaled calls finished both games: its line is written at once
    lines = [json.loads(x) for x in files.judgment.read_text().splitlines()]
    assert [x["question_id"] for x in lines] == ["q0", "q2"]
    assert lines[1]["games"][1]["score"] == "A=B" and lines[1]["games"][1]["judgment"] == "\nhmm\n[[A=B]]"
    assert lines[1]["games"][1]["usage"] == {"prompt_tokens": 20, "completion_tokens": 4}
    assert lines[1]["template_sha256"] == key.template_sha256 and lines[1]["judge"] == "org/judge-x"
    todo = {(t.uid, t.game): t for t in tasks}
    assert set(todo) == {("q1", 1), ("q3", 0), ("q3", 1)} == {(t.uid, t.game) for t in dry_tasks}
    assert [r.text for r in todo[("q1", 1)].prior] == ["no verdict yet"]  # resumes at its second attempt

    class Chat:
        def __init__(self) -> None:
            self.sent: list[list[dict]] = []

        async def complete(self, messages: list[dict], *, temperature: float, max_tokens: int) -> Completion:
            self.sent.append(messages)
            return Completion("[[B>A]]", 5, 1)

    chat = Chat()
    totals = asyncio.run(run_games(chat, template, stores, tasks, concurrency=1))
    assert totals.games == 3 and totals.calls == 3
    q1 = next(m for m in chat.sent if "question 1" in m[1]["content"])
    assert [m["role"] for m in q1] == [
        "system",
        "user",
        "assistant",
        "user",
    ]  # the continuation, not a restart
    assert q1[2]["content"] == "no verdict yet"
    lines = [json.loads(x) for x in files.judgment.read_text().splitlines()]
    assert sorted(x["question_id"] for x in lines) == ["q0", "q1", "q2", "q3"]
    store.finish([q.uid for q in questions])
    assert not files.journal.exists()


def test_a_games_second_attempt_comes_before_other_games_first_ones(tmp_path: Path) -> None:
    """Games run their attempts back to back, each call journaled as it returns: a kill finds no finished
    first attempts queued behind every other game (which lost 11 of 29 finished calls before)."""
    template = load_template("arena-hard")
    key = JudgeKey.of("judge-x", template, BASE)
    questions = tuple(Question(f"q{i}", f"question {i}") for i in range(3))
    answers = {m: {q.uid: Answer(q.uid, m, f"{m} on {q.uid}") for q in questions} for m in ("m", BASE)}
    stores, tasks = plan(JudgeJob(_FixedAnswers(tmp_path, answers), template, key, ("m",), questions))
    journal = model_files(BenchDir(tmp_path), "judge-x", "m").journal
    order: list[tuple[str, int]] = []

    class Chat:
        async def complete(self, messages: list[dict], *, temperature: float, max_tokens: int) -> Completion:
            game = messages[1]["content"]
            order.append((game, len(messages)))
            if len(messages) == 4:  # the continuation: the first attempt must be on disk already
                assert journal.read_text().count("\n") == len(order) - 1
                return Completion("[[A>B]]")
            return Completion("thinking..." if "question 0" in game else "[[B>A]]")

    totals = asyncio.run(run_games(Chat(), template, stores, tasks, concurrency=1))
    assert totals.calls == 8 and totals.games == 6
    assert [n for _, n in order[:3]] == [2, 4, 2]  # game 1 of q0, its continuation, then the next game
    assert "question 0" in order[1][0] and order[0][0] == order[1][0]


def test_run_judgments_is_a_whole_run_in_one_call(tmp_path: Path) -> None:
    """The library entry point: checks, dry-run plan, key file, events, client made only when needed."""
    template = load_template("arena-hard")
    questions = [Question(f"q{i}", f"question {i}") for i in range(2)]
    answers = {m: {q.uid: Answer(q.uid, m, f"{m} on {q.uid}") for q in questions} for m in ("m", BASE)}
    bench = _FixedAnswers(tmp_path, answers)
    with pytest.raises(SosbenchError, match="includes the baseline gpt-4-0314"):
        judge_job(bench, template, "judge-x", ["m", BASE], questions, BASE)
    with pytest.raises(SosbenchError, match="--models is empty"):
        judge_job(bench, template, "judge-x", [], questions, BASE)
    job = judge_job(bench, template, "judge-x", ["m"], questions, BASE)
    assert len(plan_judgments(job)) == 4 and not (tmp_path / "model_judgment").exists()  # reads only
    made: list = []

    class Chat:
        closed = False

        async def complete(self, messages: list[dict], *, temperature: float, max_tokens: int) -> Completion:
            return Completion("[[B>A]]", 10, 2)

        async def aclose(self) -> None:
            self.closed = True

    def make() -> Chat:
        made.append(Chat())
        return made[-1]

    events: list[RunEvent] = []
    result = run_judgments(job, make, on_event=events.append)
    assert events == [RunEvent("planned", 4)] + [RunEvent("game", 1)] * 4
    assert (result.totals.games, result.totals.calls, result.totals.prompt_tokens) == (4, 4, 40)
    assert result.already_done == 0 and result.total_games == 4 and made[0].closed
    assert result.models == (ModelSummary("m", 2, 0),)
    assert json.loads((result.folder / "sosbench-judge.json").read_text())["judge"] == "judge-x"
    again = run_judgments(job, make, on_event=events.append)
    assert len(made) == 1 and again.already_done == 4 and again.stats is None
    assert events[-1] == RunEvent("planned", 0)


class _FixedAnswers(BenchDir):
    """A bench folder whose answers are given in memory (the store and plan are what is tested)."""

    def __init__(self, root: Path, answers: dict) -> None:
        super().__init__(root)
        object.__setattr__(self, "_given", answers)

    def answers(self, model: str) -> dict:
        return self._given[model]


# ------------------------------------------------------------------------------------------------------------
# prices and audit
# ------------------------------------------------------------------------------------------------------------
def test_prices_lookup_and_override(tmp_path: Path) -> None:
    prices = load_prices()
    assert price_for(prices, "gpt-4o-mini-2024-07-18") == (0.15, 0.60)
    assert price_for(prices, "gpt-4o-2024-05-13") == (5.0, 15.0)
    assert price_for(prices, "openai/gpt-4-1106-preview") == (10.0, 30.0)
    assert price_for(prices, "claude-3-5-sonnet-20240620") == (3.0, 15.0)
    assert price_for(prices, "my-local-judge") is None
    custom = tmp_path / "p.yaml"
    custom.write_text("prices:\n  my-local-judge: {input: 1, output: 2}\n")
    assert price_for(load_prices(custom), "my-local-judge") == (1.0, 2.0)
    custom.write_text("prices:\n  x: {input: cheap}\n")
    with pytest.raises(SosbenchError, match="needs numeric input and output"):
        load_prices(custom)


def _template_file(tmp_path: Path, change: dict | None = None, prefix: str = "", drop: str = "") -> Path:
    import yaml

    from sosbench.judge._templates import data_file

    config = yaml.safe_load(data_file("judge", "judge_sos_multicriteria.yaml").read_text(encoding="utf-8"))
    config.update(change or {})
    config.pop(drop, None)
    path = tmp_path / "t.yaml"
    path.write_text(prefix + yaml.safe_dump(config), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("change", "prefix", "drop", "message"),
    [
        ({}, "max_token: 48\n", "", "max_token: Extra inputs are not permitted"),
        ({"max_tokens": "48"}, "", "", "max_tokens: Input should be a valid integer"),
        ({"max_tokens": 0}, "", "", "max_tokens: Input should be greater than or equal to 1"),
        (
            {"number_of_judgment_attempts": None},
            "",
            "",
            "number_of_judgment_attempts: Input should be a valid integer",
        ),
        ({}, "", "regex_pattern", "regex_pattern: Field required"),
        ({"regex_pattern": "(A"}, "", "", "regex_pattern does not compile"),
        ({"regex_pattern": "A>B"}, "", "", "regex_pattern needs exactly one group"),
        ({"prompt_template": ["{question_1} {answer_1}"]}, "", "", "prompt_template lacks {answer_2}"),
        (
            {"prompt_template": ["{question_1} {answer_1} {answer_2} {extra}"]},
            "",
            "",
            "takes only {question_1}",
        ),
        ({"prompt_template": ["a", "b"]}, "", "", "exactly one template"),
        ({"reference": True}, "", "", "without reference answers"),
        ({"criteria": ["style", "helpfulness"]}, "", "", "criteria: helpfulness cannot be scored"),
    ],
)
def test_template_files_are_validated_strictly(
    tmp_path: Path, change: dict, prefix: str, drop: str, message: str
) -> None:
    path = _template_file(tmp_path, change, prefix, drop)
    with pytest.raises(SosbenchError) as caught:
        load_template(str(path))
    assert str(caught.value).startswith(f"{path}") and message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_template_asking_for_an_unknown_criterion_is_an_error_not_dropped(tmp_path: Path) -> None:
    import yaml

    from sosbench.judge._templates import data_file

    system = yaml.safe_load(data_file("judge", "judge_sos_multicriteria.yaml").read_text(encoding="utf-8"))[
        "system_prompt"
    ]
    extended = system.replace(" 5. Style:", " 5. Helpfulness: the answer helps.\n\n 6. Style:")
    with pytest.raises(SosbenchError, match="verdicts on helpfulness, which sosbench cannot score"):
        load_template(str(_template_file(tmp_path, {"system_prompt": extended})))
    asked = system + "\nAlso give Verbosity: ((A>B))"
    with pytest.raises(SosbenchError, match="verdicts on verbosity"):
        load_template(str(_template_file(tmp_path, {"system_prompt": asked})))
    chosen = load_template(
        str(_template_file(tmp_path, {"system_prompt": extended, "criteria": ["style", "safety"]}))
    )
    assert chosen.criteria == ("safety", "style")  # listed explicitly: the user chose which are scored
    plain = load_template(str(_template_file(tmp_path)))
    assert plain.criteria == load_template("sos-multicriteria").criteria
    assert plain.sha256 == load_template("sos-multicriteria").sha256  # model_list, name etc. do not enter
    assert load_template("arena-hard").sha256 != plain.sha256
    assert load_template(str(_template_file(tmp_path, {"max_tokens": 48}))).sha256 != plain.sha256


@pytest.fixture
def plugin_template(
    tmp_path: Path, install_plugin: Callable[..., None]
) -> Iterator[Callable[[str, Path], None]]:
    """Install a judge template file through a real `sosbench.judge_templates` entry point."""
    from sosbench.judge import _templates

    def install(name: str, template: Path) -> None:
        code = f"from pathlib import Path\n\nTEMPLATE = Path({str(template)!r})\n"
        install_plugin(
            tmp_path / "site", "sosbench.judge_templates", name, "my_template_plugin:TEMPLATE", code
        )
        _templates.templates.cache_clear()

    yield install
    _templates.templates.cache_clear()


def test_plugin_template_is_loaded_by_name_and_validated_strictly(
    tmp_path: Path, plugin_template: Callable[[str, Path], None]
) -> None:
    from sosbench.judge._templates import templates

    path = _template_file(tmp_path, {"criteria": ["style", "safety"]})
    plugin_template("mine", path)
    assert templates().names() == ["arena-hard", "sos-multicriteria", "arena-hard-v2.0", "mine"]
    mine = load_template("mine")
    assert mine.name == "mine" and mine.criteria == ("safety", "style")
    assert mine.sha256 == load_template(str(path)).sha256
    with pytest.raises(
        SosbenchError,
        match=r"neither a built-in or plugin template "
        r"\(arena-hard, sos-multicriteria, arena-hard-v2.0, mine\)",
    ):
        load_template("yours")
    path.write_text(
        path.read_text() + "max_token: 48\n"
    )  # a typo in the plugin's file is caught as in any file
    with pytest.raises(SosbenchError, match=f"^{path}: max_token: Extra inputs are not permitted"):
        load_template("mine")


def test_plugin_template_cannot_shadow_a_built_in_one(
    tmp_path: Path, plugin_template: Callable[[str, Path], None]
) -> None:
    from sosbench.judge._templates import templates

    plugin_template("arena-hard", _template_file(tmp_path))
    with pytest.raises(SosbenchError, match=r"^judge template 'arena-hard' is registered twice"):
        templates()


def test_retry_after_is_capped_and_read_as_seconds_ms_or_a_date() -> None:
    import email.utils
    import time

    from sosbench.judge._client import retry_after_seconds

    class Reply:
        def __init__(self, headers: dict) -> None:
            self.headers = headers

    class Refusal(Exception):
        def __init__(self, headers: dict) -> None:
            self.response = Reply(headers)

    assert retry_after_seconds(Refusal({"retry-after": "3600"}), 60.0) == 60.0
    assert retry_after_seconds(Refusal({"retry-after": "2.5"}), 60.0) == 2.5
    assert retry_after_seconds(Refusal({"retry-after-ms": "20"}), 60.0) == pytest.approx(0.02)
    soon = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 <= retry_after_seconds(Refusal({"retry-after": soon}), 60.0) <= 31
    assert retry_after_seconds(Refusal({"retry-after": "whenever"}), 60.0) == 0.0
    assert retry_after_seconds(Refusal({}), 60.0) == 0.0


def test_packaged_arena_hard_data_is_byte_identical_to_the_source(shared_data: Path) -> None:
    import hashlib

    from sosbench.judge._templates import data_file

    source = shared_data / "arena-hard-v0.1"
    for name in (
        "question.jsonl",
        *(f"model_answer/{m}.jsonl" for m in ("gpt-4-0314", "gpt-4-0613", "gpt-3.5-turbo-0125")),
    ):
        packaged = data_file("arena_hard", *name.split("/")).read_bytes()
        assert (
            hashlib.sha256(packaged).hexdigest() == hashlib.sha256((source / name).read_bytes()).hexdigest()
        ), name
    for name in ("judge_arena_hard_default.yaml", "judge_sos_multicriteria.yaml", "gen_answer_config.yaml"):
        assert data_file("judge", name).read_bytes() == (shared_data / "protocol" / name).read_bytes(), name
    bench = BenchDir(Path("/nonexistent-bench"))
    questions = bench.questions()
    assert len(questions) == 500 and len({q.uid for q in questions}) == 500
    assert set(bench.answers("gpt-4-0314")) == {q.uid for q in questions}
