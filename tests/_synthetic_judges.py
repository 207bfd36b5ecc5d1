"""Synthetic Arena-Hard judgments with a planted style preference, in both official file layouts.

A judge is simulated from a known truth, so the estimators can be checked against it and against the
official code (tests/data/style_reference/make_reference.py runs the official ``show_result.py`` on the
same folders). Per question, every model (and the baseline) gets an answer with a token length and
header, list and bold counts drawn around the model's own style; each of the two games is decided by

    logit P(model wins) = strength[model] + length_coef * (Lm - Lb) / (Lm + Lb) + markdown_coef * md

where ``md`` is the mean of the three markdown-density differences (dm - db) / (dm + db + 1), d = count /
(L + 1): the features Arena-Hard-Auto v2.0 builds, before its standardisation. ``verdicts="binary"``
writes one weak verdict per game drawn from that probability (the Bradley-Terry model exactly);
``"graded"`` adds logistic noise and cuts the latent value into the five Arena-Hard verdicts (strong wins
count three times, ties half), as a real judge's replies look. A few games get no verdict.

Only numpy is imported, so the scratch environment that runs the official code can import this file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

V01_BASELINE = "gpt-4-0314"
V20_BASELINE = "o3-mini-2025-01-31"
JUDGE = "synthetic-judge"


@dataclass(frozen=True)
class Plan:
    """What the synthetic judge knows: true strengths, each model's style, and the planted preference."""

    strength: dict[str, float]  # true logit against the baseline (substance), per judged model
    length: dict[str, float]  # mean answer length relative to the baseline's (1.0 = as long)
    markdown: dict[str, float]  # markdown density relative to the baseline's
    length_coef: float = 0.0
    markdown_coef: float = 0.0
    questions: int = 150
    verdicts: str = "graded"  # or "binary"
    unparsed: float = 0.02  # share of games without a readable verdict
    seed: int = 0
    baseline_tokens: float = 500.0

    @property
    def models(self) -> tuple[str, ...]:
        return tuple(self.strength)


@dataclass(frozen=True)
class Simulated:
    """The drawn answers' style counts and the games' verdicts (game 0: baseline in position A)."""

    uids: tuple[str, ...]
    style: dict[str, np.ndarray]  # model (and baseline) -> (questions, 4): tokens, headers, lists, bold
    labels: dict[str, list[tuple[str | None, str | None]]]  # model -> per question (game 0, game 1)


def default_plan(seed: int = 0, **changes: object) -> Plan:
    """Seven models whose strength and style are unrelated, a moderate planted length preference."""
    plan = Plan(
        strength={
            "model-a": 0.8,
            "model-b": 0.4,
            "model-c": 0.1,
            "model-d": -0.2,
            "model-e": -0.5,
            "model-f": 0.3,
            "model-g": -0.9,
        },
        length={
            "model-a": 0.7,
            "model-b": 1.6,
            "model-c": 2.2,
            "model-d": 1.0,
            "model-e": 1.8,
            "model-f": 0.5,
            "model-g": 1.3,
        },
        markdown={
            "model-a": 0.5,
            "model-b": 2.0,
            "model-c": 1.0,
            "model-d": 3.0,
            "model-e": 0.7,
            "model-f": 1.5,
            "model-g": 2.5,
        },
        length_coef=1.5,
        markdown_coef=1.0,
        seed=seed,
    )
    return replace(plan, **changes)  # type: ignore[arg-type]


def _features(model: np.ndarray, base: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The planted judge's length feature and mean markdown-density feature, per question."""
    length = (model[:, 0] - base[:, 0]) / (model[:, 0] + base[:, 0])
    dm = model[:, 1:] / (model[:, :1] + 1.0)
    db = base[:, 1:] / (base[:, :1] + 1.0)
    return length, ((dm - db) / (dm + db + 1.0)).mean(axis=1)


def simulate(plan: Plan) -> Simulated:
    """Draw answers' style and both games' verdicts, reproducibly from ``plan.seed``."""
    rng = np.random.RandomState(plan.seed)
    n = plan.questions
    uids = tuple(f"{rng.randint(16**8):08x}{i:08x}" for i in range(n))

    def answers(length: float, markdown: float) -> np.ndarray:
        tokens = np.maximum(5, np.rint(plan.baseline_tokens * length * rng.lognormal(0.0, 0.35, n)))
        rates = np.array([0.6, 2.5, 1.5]) * markdown / 100.0  # per token: headers, list items, bold spans
        counts = rng.poisson(rates[None, :] * tokens[:, None] * rng.uniform(0.5, 1.5, (n, 1)))
        return np.column_stack([tokens, counts]).astype(np.int64)

    style = {name: answers(1.0, 1.0) for name in ("__baseline__",)}
    labels: dict[str, list[tuple[str | None, str | None]]] = {}
    for model in plan.models:
        style[model] = answers(plan.length[model], plan.markdown[model])
        length, markdown = _features(style[model].astype(float), style["__baseline__"].astype(float))
        logit = plan.strength[model] + plan.length_coef * length + plan.markdown_coef * markdown
        games = []
        for game in (0, 1):
            if plan.verdicts == "binary":
                wins = rng.uniform(size=n) < 1.0 / (1.0 + np.exp(-logit))
                level = np.where(wins, 1, -1)
            else:
                latent = logit + rng.logistic(size=n)
                level = np.digitize(latent, [-2.0, -0.5, 0.5, 2.0]) - 2  # -2 .. 2, model's side
            lost = rng.uniform(size=n) < plan.unparsed
            games.append(
                [None if gone else _label(int(v), game) for v, gone in zip(level, lost, strict=True)]
            )
        labels[model] = list(zip(games[0], games[1], strict=True))
    return Simulated(uids, style, labels)


def _label(level: int, game: int) -> str:
    """An Arena-Hard verdict for the model's level (-2 .. 2) in a game (0: baseline is A)."""
    if level == 0:
        return "A=B"
    model, other = ("B", "A") if game == 0 else ("A", "B")
    winner, loser = (model, other) if level > 0 else (other, model)
    return f"{winner}{'>>' if abs(level) == 2 else '>'}{loser}"


def _metadata(counts: np.ndarray) -> dict:
    tokens, headers, lists, bold = (int(c) for c in counts)
    return {
        "token_len": tokens,
        "header_count": {"h1": 0, "h2": headers, "h3": 0, "h4": 0, "h5": 0, "h6": 0},
        "list_count": {"ordered": lists // 2, "unordered": lists - lists // 2},
        "bold_count": {"**": bold, "__": 0},
    }


def _text(model: str, uid: str) -> str:
    """A short stand-in answer: the style counts live in the metadata, as the official readers use them."""
    return f"Answer of {model} to {uid}."


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def write_v01(plan: Plan, root: Path, baseline: str = V01_BASELINE) -> Simulated:
    """A bench folder in the layout arena-hard-auto 3071ef9 reads (question_id, choices, conv_metadata)."""
    sim = simulate(plan)
    _write_jsonl(
        root / "question.jsonl",
        [
            {"question_id": u, "cluster": "synthetic", "turns": [{"content": f"Question {u}?"}]}
            for u in sim.uids
        ],
    )
    for model in (baseline, *plan.models):
        counts = sim.style["__baseline__" if model == baseline else model]
        rows = []
        for uid, row in zip(sim.uids, counts, strict=True):
            meta = _metadata(row)
            turn = {"content": _text(model, uid), "token_len": meta["token_len"]}
            rows.append(
                {
                    "question_id": uid,
                    "answer_id": f"{model}-{uid}",
                    "model_id": model,
                    "choices": [{"index": 0, "turns": [turn]}],
                    "tstamp": 0.0,
                    "conv_metadata": meta,
                }
            )
        _write_jsonl(root / "model_answer" / f"{model}.jsonl", rows)
    for model in plan.models:
        rows = [
            {
                "question_id": uid,
                "model": model,
                "judge": JUDGE,
                "games": [
                    {"user_prompt": "", "judgment": f"[[{label}]]" if label else "no verdict", "score": label}
                    for label in pair
                ],
            }
            for uid, pair in zip(sim.uids, sim.labels[model], strict=True)
        ]
        _write_jsonl(root / "model_judgment" / JUDGE / f"{model}.jsonl", rows)
    return sim


def write_v20(
    plan: Plan,
    root: Path,
    baseline: str = V20_BASELINE,
    category: str = "hard_prompt",
    *,
    both_metadata: bool = False,
) -> Simulated:
    """A bench folder in the layout arena-hard-auto 196f6b8 reads (uid, messages, metadata, category).

    ``both_metadata``: the answers also carry the same counts as the v0.1 era's ``conv_metadata``, so the
    arena-hard-v0.1 estimator reads the planted style too (it would count the stand-in text otherwise).
    """
    sim = simulate(plan)
    _write_jsonl(
        root / "question.jsonl",
        [
            {"uid": u, "category": category, "subcategory": "synthetic", "prompt": f"Question {u}?"}
            for u in sim.uids
        ],
    )
    for model in (baseline, *plan.models):
        counts = sim.style["__baseline__" if model == baseline else model]
        rows = [
            {
                "uid": uid,
                "ans_id": f"{model}-{uid}",
                "model": model,
                "messages": [
                    {"role": "user", "content": f"Question {uid}?"},
                    {"role": "assistant", "content": {"answer": _text(model, uid)}},
                ],
                "tstamp": 0.0,
                "metadata": _metadata(row),
                **({"conv_metadata": _metadata(row)} if both_metadata else {}),
            }
            for uid, row in zip(sim.uids, counts, strict=True)
        ]
        _write_jsonl(root / "model_answer" / f"{model}.jsonl", rows)
    for model in plan.models:
        rows = [
            {
                "uid": uid,
                "category": category,
                "judge": JUDGE,
                "model": model,
                "baseline": baseline,
                "games": [
                    {
                        "score": label,
                        "judgment": {"answer": f"[[{label}]]" if label else "no verdict"},
                        "prompt": [],
                    }
                    for label in pair
                ],
            }
            for uid, pair in zip(sim.uids, sim.labels[model], strict=True)
        ]
        _write_jsonl(root / "model_judgment" / JUDGE / f"{model}.jsonl", rows)
    return sim
