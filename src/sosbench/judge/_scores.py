"""Leaderboards from judgment files: per criterion, Bradley-Terry win rates against the baseline with CIs.

The table has the layout of the paper's ``arena_hard_auto.csv`` (``model, score, rating_q025,
rating_q975, CI``, win rates in percent, baseline = 50), followed by one column group per extra criterion
(``<criterion>_score, <criterion>_rating_q025, <criterion>_rating_q975, <criterion>_CI``). A v2.0 folder
is scored per question category, each against its own baseline (:func:`score_categories`).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sosbench.errors import SosbenchError
from sosbench.judge._battles import (
    OVERALL_CRITERION,
    Judgment,
    build_battles,
    has_criterion,
    read_judgments,
)
from sosbench.judge._benchmarks import Benchmark, detect_judgments, get_benchmark
from sosbench.judge._bt import fit_bradley_terry
from sosbench.judge._judging import read_judge_key
from sosbench.judge._templates import CRITERIA

ALL_CRITERIA: tuple[str, ...] = (OVERALL_CRITERION, *CRITERIA)
PERTURBED_SEPARATOR = "@"  # `judge perturb` names a rewritten answer set "<model>@<kind>"
DEFAULT_BASELINE = "gpt-4-0314"  # v0.1's baseline (Arena-Hard-Auto's)


@dataclass(frozen=True)
class CriterionResult:
    """One criterion's leaderboard: win rate against the baseline and its bootstrap interval, per model."""

    criterion: str
    models: tuple[str, ...]
    score: tuple[float, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    battles: dict[str, int]
    unparsed: dict[str, int]

    def as_dict(self) -> dict[str, float]:
        return dict(zip(self.models, self.score, strict=True))


@dataclass(frozen=True)
class Leaderboard:
    judge: str
    baseline: str
    results: tuple[CriterionResult, ...]  # the first is "overall"
    benchmark: str = "arena-hard-v0.1"
    category: str = "arena-hard-v0.1"  # v2.0: the question category scored

    def result(self, criterion: str) -> CriterionResult:
        for result in self.results:
            if result.criterion == criterion:
                return result
        raise SosbenchError(f"criterion {criterion!r} was not scored: pass --criterion {criterion} or all")

    def frame(self):
        """The CSV table, best overall score first."""
        import pandas as pd

        models = list(self.results[0].models)
        for result in self.results[1:]:
            models += [m for m in result.models if m not in models]
        table = pd.DataFrame({"model": models})
        for result in self.results:
            prefix = "" if result.criterion == OVERALL_CRITERION else f"{result.criterion}_"
            lookup = {
                m: (s, lo, hi)
                for m, s, lo, hi in zip(result.models, result.score, result.lower, result.upper, strict=True)
            }
            values = [lookup.get(m, (np.nan, np.nan, np.nan)) for m in models]
            table[f"{prefix}score"] = [round(v[0], 2) for v in values]
            table[f"{prefix}rating_q025"] = [round(v[1], 2) for v in values]
            table[f"{prefix}rating_q975"] = [round(v[2], 2) for v in values]
            table[f"{prefix}CI"] = [_ci_text(*v) for v in values]
        return table.sort_values("score", ascending=False, kind="stable").reset_index(drop=True)


def _ci_text(score: float, lower: float, upper: float) -> str:
    if np.isnan(score):
        return ""
    return f"(-{score - lower:.2f}, +{upper - score:.2f})"


def parse_criteria_option(value: str) -> tuple[str, ...]:
    """``--criterion``: one of overall, the five criteria, or all (comma-separated lists allowed)."""
    chosen: list[str] = []
    for part in (p.strip().lower() for p in value.split(",") if p.strip()):
        if part == "all":
            chosen += [c for c in ALL_CRITERIA if c not in chosen]
        elif part in ALL_CRITERIA:
            chosen += [part] if part not in chosen else []
        else:
            raise SosbenchError(f"unknown --criterion {part!r}: use overall, {', '.join(CRITERIA)} or all")
    return tuple(chosen) or (OVERALL_CRITERION,)


@dataclass(frozen=True)
class ScoreOptions:
    baseline: str = DEFAULT_BASELINE  # v0.1's; a v2.0 category has its own
    criteria: tuple[str, ...] = (OVERALL_CRITERION,)
    rounds: int = 100
    seed: int = 42
    benchmark: str | None = None  # None: read from the folder (detect_judgments)
    categories: tuple[str, ...] = ()  # v2.0: the categories to score (none: every one judged)


def folder_benchmark(directory: Path, options: ScoreOptions) -> Benchmark:
    """The benchmark a judge's folder is scored as: ``options.benchmark``, else what its files show."""
    return get_benchmark(options.benchmark) if options.benchmark else detect_judgments(directory)


@dataclass(frozen=True)
class CategoryGames:
    """The games of one leaderboard: a v2.0 category against its own baseline, or v0.1's only one."""

    name: str  # the category (v0.1: the benchmark's name)
    baseline: str
    games: list[Judgment]


def category_games(directory: Path, options: ScoreOptions) -> tuple[Benchmark, list[CategoryGames]]:
    """A judge's folder split into its leaderboards (see :func:`chosen_categories`), each with its baseline:
    v0.1's ``options.baseline``, a v2.0 category's own (``categories.yaml``)."""
    benchmark = folder_benchmark(directory, options)
    judgments = read_judgments(directory)
    groups = []
    for category in chosen_categories(directory, judgments, options, benchmark):
        if category is None:
            groups.append(CategoryGames(benchmark.name, options.baseline, judgments))
        else:
            games = [j for j in judgments if j.category == category]
            groups.append(CategoryGames(category, benchmark.category(category).baseline, games))
    return benchmark, groups


def score_categories(directory: Path, options: ScoreOptions) -> list[Leaderboard]:
    """One leaderboard per question category of a judge's folder (v0.1: the one leaderboard).

    v2.0 scores each category against its own baseline, the way its ``show_result.py --category`` does;
    a category asked for but not judged is an error.
    """
    benchmark, groups = category_games(directory, options)
    return [score_group(directory, group, options, benchmark) for group in groups]


def chosen_categories(
    directory: Path, judgments: list[Judgment], options: ScoreOptions, benchmark: Benchmark
) -> list[str | None]:
    """The categories to score (``None``: v0.1's one leaderboard): those asked for, else every one judged."""
    if not benchmark.per_question:
        return [None]
    found = list(dict.fromkeys(j.category for j in judgments))
    missing = [c for c in options.categories if c not in found]
    if missing:
        raise SosbenchError(
            f"{directory} has no judgments of category {', '.join(missing)} (it has {', '.join(found)})"
        )
    return list(
        options.categories or tuple(c for c in benchmark.main_categories if c in found) or tuple(found)
    )


def pair_games(
    directory: Path, models: tuple[str, ...], baseline: str | None
) -> tuple[Benchmark, CategoryGames]:
    """The games that judge two models side by side (``compare --judgments``).

    v0.1: every game, against ``baseline`` (default gpt-4-0314). v2.0 scores each category against its
    own baseline, so one category is read: the one whose baseline ``baseline`` names, else the first
    (hard_prompt, the official default of ``show_result.py``, before creative_writing) that judged all
    of ``models``.
    """
    benchmark = detect_judgments(directory)
    if not benchmark.per_question:
        options = ScoreOptions(baseline=baseline or DEFAULT_BASELINE)
        return benchmark, category_games(directory, options)[1][0]
    _, groups = category_games(directory, ScoreOptions())
    if baseline is not None:
        named = [g for g in groups if g.baseline == baseline]
        if not named:
            known = ", ".join(f"{g.baseline} ({g.name})" for g in groups)
            raise SosbenchError(
                f"--baseline {baseline}: {directory} is {benchmark.name}, judged against {known}; "
                "leave --baseline out to use its category's own"
            )
        groups = named
    for group in groups:
        if set(models) <= {j.model for j in group.games}:
            return benchmark, group
    return benchmark, groups[0]


def score_judgments(directory: Path, options: ScoreOptions) -> Leaderboard:
    """Score a judge's folder: overall first, then each requested criterion found in the judgments.

    A v2.0 folder is scored for one category: the one in ``options.categories``, else its first judged.
    """
    return score_categories(directory, options)[0]


def score_group(
    directory: Path, group: CategoryGames, options: ScoreOptions, benchmark: Benchmark
) -> Leaderboard:
    """One leaderboard of a folder's games (:func:`category_games`), each criterion asked for."""
    options = dataclasses.replace(options, baseline=group.baseline)
    wanted = (OVERALL_CRITERION, *[c for c in options.criteria if c != OVERALL_CRITERION])
    explicit = options.criteria != ALL_CRITERIA
    results = []
    for criterion in wanted:
        if criterion != OVERALL_CRITERION and not has_criterion(group.games, criterion):
            if explicit:
                raise SosbenchError(
                    f"{directory} has no {criterion} verdicts (judged with a template without criteria?): "
                    "score --criterion overall, or judge with --template sos-multicriteria"
                )
            continue
        results.append(score_criterion(group.games, criterion, options, benchmark.per_question))
    return Leaderboard(read_judge_name(directory), group.baseline, tuple(results), benchmark.name, group.name)


def read_judge_name(directory: Path) -> str:
    """The judge of a folder: as its judge key records it, else the folder's name."""
    key = read_judge_key(directory)
    return str(key["judge"]) if key and isinstance(key.get("judge"), str) else directory.name


def score_criterion(
    judgments: list[Judgment], criterion: str, options: ScoreOptions, per_question: bool = False
) -> CriterionResult:
    battles = build_battles(judgments, criterion, options.baseline, per_question=per_question)
    fit = fit_bradley_terry(
        battles.models,
        battles.model,
        battles.opponent,
        battles.outcome,
        rounds=options.rounds,
        seed=options.seed,
    )
    lower, upper = fit.win_rate_interval()
    counts = np.bincount(battles.model, minlength=len(battles.models))
    return CriterionResult(
        criterion=criterion,
        models=battles.models,
        score=tuple(float(x) for x in fit.win_rate()),
        lower=tuple(float(x) for x in lower),
        upper=tuple(float(x) for x in upper),
        battles={m: int(counts[i]) for i, m in enumerate(battles.models) if i},
        unparsed=battles.unparsed,
    )


@dataclass(frozen=True)
class InterventionLoss:
    """Score change of a rewritten answer set against the original answers (protocol 3.5)."""

    model: str
    kind: str
    criterion: str
    original: float
    perturbed: float

    @property
    def loss_percent(self) -> float:
        """Relative loss, (original - perturbed) / original, in percent."""
        return 100.0 * (self.original - self.perturbed) / self.original if self.original else float("nan")


def intervention_losses(board: Leaderboard) -> list[InterventionLoss]:
    """For every "<model>@<kind>" scored next to "<model>", the loss per criterion."""
    return losses_of({r.criterion: r.as_dict() for r in board.results})


def losses_of(scores: dict[str, dict[str, float]]) -> list[InterventionLoss]:
    """The losses of every "<model>@<kind>" scored next to "<model>", from criterion -> model -> score."""
    losses = []
    for criterion, by_model in scores.items():
        for name, perturbed in by_model.items():
            base, sep, kind = name.rpartition(PERTURBED_SEPARATOR)
            if sep and base in by_model:
                losses.append(InterventionLoss(base, kind, criterion, by_model[base], perturbed))
    return losses


def clean(x: float) -> float | None:
    """A number for JSON: rounded to 4 decimals, null when not finite."""
    return round(float(x), 4) if math.isfinite(float(x)) else None


def board_header(board: Any) -> dict[str, str]:
    """What every leaderboard JSON starts with: judge, baseline, benchmark and category."""
    return {
        "judge": board.judge,
        "baseline": board.baseline,
        "benchmark": board.benchmark,
        "category": board.category,
    }


def board_json(board: Leaderboard, losses: list[InterventionLoss]) -> dict:
    """A leaderboard as ``judge score --format json`` writes it (non-finite numbers as null)."""
    return {
        **board_header(board),
        "criteria": {
            r.criterion: {
                m: {
                    "score": clean(s),
                    "rating_q025": clean(lo),
                    "rating_q975": clean(hi),
                    "battles": r.battles.get(m, 0),
                    "unparsed": r.unparsed.get(m, 0),
                }
                for m, s, lo, hi in zip(r.models, r.score, r.lower, r.upper, strict=True)
            }
            for r in board.results
        },
        "interventions": losses_json(losses),
    }


def losses_json(losses: list[InterventionLoss]) -> list[dict]:
    """Intervention losses as the leaderboard JSON lists them."""
    return [
        {
            "model": x.model,
            "kind": x.kind,
            "criterion": x.criterion,
            "original": clean(x.original),
            "perturbed": clean(x.perturbed),
            "loss_percent": clean(x.loss_percent),
        }
        for x in losses
    ]
