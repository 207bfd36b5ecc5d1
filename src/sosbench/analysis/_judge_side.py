"""The judge's side of a comparison: both models' win rates against the judge's baseline, and the judged
questions the two are scored differently on, with the judge's verdicts in words.

One Bradley-Terry fit of the judge's folder gives both win rates and their joint bootstrap rounds. Its
battles weight a strong verdict three times (Arena-Hard-Auto's counting), so the row's ``n`` is the number of
questions judged for both models, not the number of battles.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sosbench.analysis._paired import item_view
from sosbench.errors import SosbenchError

# The judged model's letter in each game: game 1 puts the baseline in position A, game 2 the model.
MODEL_LETTER = ("B", "A")


@dataclass(frozen=True)
class JudgeSide:
    """Win rates (0-100) against the judge's baseline of base and candidate, their joint bootstrap rounds,
    the questions judged for both, and the per-item view of those judged differently (another outcome or
    verdict)."""

    judge: str
    base: float
    candidate: float
    base_rounds: np.ndarray
    cand_rounds: np.ndarray
    questions: int
    items: tuple[dict[str, Any], ...] = ()


def verdict_words(label: str | None, game: int) -> str:
    """A game's verdict from the judged model's side: 'win', 'strong loss', 'tie', ..."""
    if label is None:
        return "no verdict"
    if "=" in label:
        return "tie"
    won = label[0] == MODEL_LETTER[game]
    return ("strong " if ">>" in label else "") + ("win" if won else "loss")


def _verdicts(games: list[tuple[int, str | None]], baseline: str) -> str:
    """Both games of a question, e.g. 'vs gpt-4-0314: game 1 (baseline first) win (B>A); game 2 (model
    first) strong loss (B>>A)'."""
    order = ("baseline first", "model first")
    shown = [
        f"game {g + 1} ({order[g]}) {verdict_words(label, g)}" + (f" ({label})" if label else "")
        for g, label in sorted(games)
    ]
    return f"vs {baseline}: " + "; ".join(shown)


def _texts(bench: Path, models: tuple[str, ...]) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """The questions' prompts and each model's answers where the bench folder (or the packaged data) has
    them; the per-item view shows the question id alone where it does not."""
    from sosbench.judge import BenchDir

    try:
        folder = BenchDir.open(bench)  # the benchmark its files show (v0.1 or v2.0), for the packaged data
    except SosbenchError:
        folder = BenchDir(bench)
    try:
        prompts = {q.uid: q.prompt for q in folder.questions()}
    except SosbenchError:
        prompts = {}
    answers: dict[str, dict[str, str]] = {}
    for model in models:
        try:
            answers[model] = {uid: a.text for uid, a in folder.answers(model).items()}
        except SosbenchError:
            answers[model] = {}
    return prompts, answers


def _per_question(battles: Any, model: str, criterion: str) -> dict[str, tuple[float, list[tuple[int, Any]]]]:
    """question -> (the model's weighted outcome against the baseline, [(game, verdict label)])."""
    index = battles.models.index(model)
    rows = np.flatnonzero(battles.model == index)
    sums: dict[str, list[float]] = {}
    games: dict[str, dict[int, Any]] = {}
    for row in rows:
        game = battles.games[battles.game_row[row]]
        sums.setdefault(game.uid, []).append(float(battles.outcome[row]))
        games.setdefault(game.uid, {})[game.game] = battles.game_row[row]
    return {
        uid: (
            float(np.mean(values)),
            [(g, battles.games[r].verdict(criterion)) for g, r in games[uid].items()],
        )
        for uid, values in sums.items()
    }


def _seen(question: tuple[float, list[tuple[int, Any]]]) -> tuple[float, list[str]]:
    """What a question shows of a model: its outcome and each game's verdict in words (a win and a strong
    win score the same per question, but not in the fit)."""
    return question[0], [verdict_words(label, game) for game, label in sorted(question[1])]


def judge_side(
    judgments: Path, base: str, candidate: str, baseline: str | None, rounds: int, seed: int
) -> JudgeSide:
    """One Bradley-Terry fit of the judge's folder; its resamples of battles are shared by both models.

    ``baseline``: v0.1's (default gpt-4-0314); a v2.0 folder is read for one category against its own
    baseline (``judge.pair_games``: hard_prompt first, or the category ``baseline`` names).
    """
    from sosbench.judge import OVERALL_CRITERION, build_battles, fit_bradley_terry, pair_games

    benchmark, group = pair_games(judgments, (base, candidate), baseline)
    baseline = group.baseline
    battles = build_battles(group.games, OVERALL_CRITERION, baseline, per_question=benchmark.per_question)
    missing = [m for m in (base, candidate) if m not in battles.models]
    if missing:
        where = f" ({group.name})" if benchmark.per_question else ""
        raise SosbenchError(f"{judgments}: no judgments of {', '.join(missing)} against {baseline}{where}")
    fit = fit_bradley_terry(
        battles.models, battles.model, battles.opponent, battles.outcome, rounds=rounds, seed=seed
    )
    i, j = battles.models.index(base), battles.models.index(candidate)
    rate, boot = fit.win_rate(), fit.boot_win_rate()
    before = _per_question(battles, base, OVERALL_CRITERION)
    after = _per_question(battles, candidate, OVERALL_CRITERION)
    shared = sorted(set(before) & set(after))
    differing = [uid for uid in shared if _seen(before[uid]) != _seen(after[uid])]
    # v2.0: the row says which category (and so which baseline) it read
    judge = f"{judgments.name}, {group.name}" if benchmark.per_question else judgments.name
    name = f"judge ({judge})"
    items: tuple[dict[str, Any], ...] = ()
    if differing:
        prompts, answers = _texts(judgments.resolve().parent.parent, (base, candidate, baseline))
        items = tuple(
            item_view(
                name,
                uid,
                {
                    "prompt": prompts.get(uid, ""),
                    "gold": _baseline_answer(baseline, answers[baseline].get(uid)),
                    "response": answers[base].get(uid, ""),
                },
                {"response": answers[candidate].get(uid, "")},
                (before[uid][0], after[uid][0]),
                (_verdicts(before[uid][1], baseline), _verdicts(after[uid][1], baseline)),
            )
            for uid in differing
        )
    return JudgeSide(judge, float(rate[i]), float(rate[j]), boot[:, i], boot[:, j], len(shared), items)


def _baseline_answer(baseline: str, text: str | None) -> str:
    """A judged question has no gold: the baseline's answer is what both models are judged against."""
    return f"(no gold: judged against {baseline}'s answer)" + (f"\n{text}" if text else "")
