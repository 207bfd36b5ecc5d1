"""``judge score --estimator``: a judge's folder scored by a named official estimator, per criterion.

The battles come from the judgments in the order the estimator's own code lists them (``build_battles``),
each with the style of both answers: the answer file's own metadata when it has the estimator's
(``conv_metadata``, cl100k tokens, for arena-hard-v0.1; ``metadata``, o200k tokens, for arena-hard-v2.0),
else computed from the answer text the way that version's ``add_markdown_info.py`` computes it.

CSV layout: ``model,score,lower,upper`` (percent, the baseline at 50), one row per model, best first,
then one column per style coefficient (``coef_length``, ``coef_header``, ``coef_list``, ``coef_bold``:
log-odds per standard deviation of the feature, the same value on every row). With several criteria, the
columns of each criterion after the first are prefixed ``<criterion>_``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sosbench.errors import SosbenchError
from sosbench.judge._battles import OVERALL_CRITERION, Battles, build_battles, has_criterion
from sosbench.judge._estimators import Estimate, StyleUnits, apply_estimator
from sosbench.judge._files import Answer, BenchDir
from sosbench.judge._scores import (
    ALL_CRITERIA,
    InterventionLoss,
    ScoreOptions,
    board_header,
    category_games,
    clean,
    losses_json,
    losses_of,
    read_judge_name,
)

_ENCODING = {"arena-hard-v0.1": "cl100k_base", "arena-hard-v2.0": "o200k_base"}
_OWN_METADATA = {"arena-hard-v0.1": "conv_metadata", "arena-hard-v2.0": "metadata"}


def style_vector(metadata: dict) -> np.ndarray:
    """(tokens, headers, list items, bold spans) from answer metadata, each count summed over its kinds."""
    values = []
    for key in ("token_len", "header_count", "list_count", "bold_count"):
        value = metadata.get(key)
        if isinstance(value, dict):
            value = sum(v for v in value.values() if isinstance(v, (int, float)))
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
            raise SosbenchError(f"answer metadata: {key} is not a count ({value!r})")
        values.append(float(value))
    return np.array(values)


def answer_style(answer: Answer, estimator: str) -> np.ndarray:
    """An answer's style as the estimator's own code reads it (see the module docstring)."""
    stored = getattr(answer, _OWN_METADATA[estimator], None)
    if isinstance(stored, dict):
        return style_vector(stored)
    from sosbench.judge._metadata import answer_metadata

    return style_vector(answer_metadata(answer.text, _ENCODING[estimator]))


def style_units(battles: Battles, estimator: str, answers: dict[str, dict[str, Answer]] | None) -> StyleUnits:
    """The battles as estimator input; with ``answers`` (model -> uid -> answer), both answers' style."""
    uids = [battles.games[row].uid for row in battles.game_row]
    cluster = np.unique(np.array(uids), return_inverse=True)[1].reshape(-1)
    if answers is None:
        return StyleUnits(battles.models, battles.model, battles.outcome, None, cluster)
    cache: dict[tuple[str, str], np.ndarray] = {}

    def style(model: str, uid: str) -> np.ndarray:
        if (model, uid) not in cache:
            found = answers.get(model, {}).get(uid)
            if found is None:
                raise SosbenchError(f"style control: no answer of {model} to question {uid}")
            cache[model, uid] = answer_style(found, estimator)
        return cache[model, uid]

    baseline = battles.models[0]
    table = np.array(
        [
            [style(battles.models[i], uid), style(baseline, uid)]
            for i, uid in zip(battles.model, uids, strict=True)
        ]
    ).reshape(-1, 2, 4)
    return StyleUnits(battles.models, battles.model, battles.outcome, table, cluster)


@dataclass(frozen=True)
class EstimatorBoard:
    """A judge's leaderboards by one estimator for one category: one :class:`Estimate` per criterion."""

    judge: str
    baseline: str
    estimates: dict[str, Estimate]  # criterion -> estimate, overall first
    battles: dict[str, dict[str, int]]  # criterion -> model -> battles counted
    unparsed: dict[str, dict[str, int]]
    benchmark: str = "arena-hard-v0.1"
    category: str = "arena-hard-v0.1"


def estimator_boards(
    directory: Path,
    options: ScoreOptions,
    *,
    estimator: str | None,
    control: tuple[str, ...],
    bench_dir: Path | None,
) -> list[EstimatorBoard]:
    """A judge's folder scored by ``estimator`` (default: the folder's own benchmark), one board per
    category (v2.0: each against its own baseline, as ``score_categories``)."""
    benchmark, groups = category_games(directory, options)
    chosen = estimator or benchmark.name
    bench = BenchDir(bench_dir or directory.resolve().parent.parent, benchmark) if control else None
    boards = []
    for group in groups:
        estimates, counts, unparsed = {}, {}, {}
        answers: dict[str, dict[str, Answer]] | None = None
        for criterion in (OVERALL_CRITERION, *[c for c in options.criteria if c != OVERALL_CRITERION]):
            if criterion != OVERALL_CRITERION and not has_criterion(group.games, criterion):
                if options.criteria != ALL_CRITERIA:
                    raise SosbenchError(f"{directory} has no {criterion} verdicts: score --criterion overall")
                continue
            battles = build_battles(
                group.games, criterion, group.baseline, per_question=benchmark.per_question
            )
            if bench is not None and answers is None:
                answers = {m: bench.answers(m) for m in battles.models}
            estimates[criterion] = apply_estimator(
                style_units(battles, chosen, answers), chosen, control, options.rounds, options.seed
            )
            per_model = np.bincount(battles.model, minlength=len(battles.models))
            counts[criterion] = {m: int(per_model[i]) for i, m in enumerate(battles.models) if i}
            unparsed[criterion] = battles.unparsed
        judge = read_judge_name(directory)
        boards.append(
            EstimatorBoard(judge, group.baseline, estimates, counts, unparsed, benchmark.name, group.name)
        )
    return boards


def estimator_losses(board: EstimatorBoard) -> list[InterventionLoss]:
    """The losses of "<model>@<kind>" answer sets scored next to "<model>", by the board's estimator."""
    return losses_of(
        {c: dict(zip(e.models, (float(x) for x in e.score), strict=True)) for c, e in board.estimates.items()}
    )


def _prefix(criterion: str) -> str:
    return "" if criterion == OVERALL_CRITERION else f"{criterion}_"


def estimator_frame(board: EstimatorBoard) -> Any:
    """The CSV table (module docstring), best overall score first."""
    import pandas as pd

    models: list[str] = []
    for result in board.estimates.values():
        models += [m for m in result.models if m not in models]
    table = pd.DataFrame({"model": models})
    for criterion, result in board.estimates.items():
        prefix = _prefix(criterion)
        lookup = {m: i for i, m in enumerate(result.models)}
        for column, values in (("score", result.score), ("lower", result.lower), ("upper", result.upper)):
            table[prefix + column] = [
                round(float(values[lookup[m]]), 3) if m in lookup else np.nan for m in models
            ]
        for feature, value in zip(result.control, result.coef, strict=True):
            table[f"{prefix}coef_{feature}"] = round(float(value), 4)
    return table.sort_values("score", ascending=False, kind="stable").reset_index(drop=True)


def estimate_json(result: Estimate) -> dict:
    """One estimate as ``judge score --format json`` writes it."""
    low, high = result.coef_interval()
    out: dict[str, Any] = {
        "estimator": result.estimator,
        "style_control": list(result.control),
        "point": result.point,
        "level": result.level,
        "rounds": result.rounds,
        "seed": result.seed,
        "models": {
            m: {"score": clean(s), "lower": clean(lo), "upper": clean(hi)}
            for m, s, lo, hi in zip(result.models, result.score, result.lower, result.upper, strict=True)
        },
        "style_coef": {
            f: {"coef": clean(c), "lower": clean(lo), "upper": clean(hi)}
            for f, c, lo, hi in zip(result.control, result.coef, low, high, strict=True)
        },
    }
    if result.converged is not None and result.full_data is not None:
        gap = np.abs(result.full_data - result.converged)
        out["converged"] = {
            "note": "the likelihood's optimum on all battles, beside the official 50 L-BFGS steps on all "
            "battles: how far the official optimiser stops from it",
            "models": {
                m: {"converged": clean(c), "official_50_steps": clean(f)}
                for m, c, f in zip(result.models, result.converged, result.full_data, strict=True)
            },
            "max_gap_points": clean(gap.max()),
            "style_coef": dict(
                zip(result.control, (clean(c) for c in np.asarray(result.converged_coef)), strict=True)
            ),
        }
    return out


def estimator_json(board: EstimatorBoard) -> dict:
    """The board as ``judge score --estimator ... --format json`` writes it."""
    return {
        **board_header(board),
        "criteria": {
            criterion: {
                **estimate_json(result),
                "battles": board.battles[criterion],
                "unparsed": board.unparsed[criterion],
            }
            for criterion, result in board.estimates.items()
        },
        "interventions": losses_json(estimator_losses(board)),
    }
