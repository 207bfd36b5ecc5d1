"""Speed and agreement of `sosbench judge score` against the Arena-Hard-Auto v0.1 scoring procedure.

Baseline: the reference procedure of Arena-Hard-Auto v0.1 ``show_result.py``, re-implemented here from its
description (pandas battles with strong verdicts repeated 3 times, battles duplicated with ties as one win
each way, an unpenalised sklearn ``LogisticRegression`` without intercept per bootstrap round on
``battles.sample(frac=1, replace=True)`` after ``np.random.seed(42)``, 2.5/97.5 percentiles of the Elo
ratings, win rate against gpt-4-0314).

Data: v0.1 judgment files for the 35 models of the paper's ``arena_hard_auto.csv``, 500 questions and two
games each, drawn from Bradley-Terry strengths that reproduce the published scores (verdict mix as a
real judge's: strong, plain and tie verdicts, and a few unparseable games).

Run: ``.venv/bin/python benchmarks/judge_bt_speed.py [--rounds 100] [--models 35]``. It prints the largest
score and CI differences (must be < 0.1) and the speed ratio (goal: >= 20x).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import tempfile
import time
from pathlib import Path

import numpy as np

from sosbench.judge import ScoreOptions, score_judgments

ARTIFACT = (
    Path(__file__).resolve().parents[1] / "src" / "sosbench" / "data" / "artifacts" / "arena_hard_auto.csv"
)
BASELINE = "gpt-4-0314"


def published_scores(limit: int) -> dict[str, float]:
    """Win rates of the paper's artifact (fallback: evenly spread) for the synthetic judge."""
    if ARTIFACT.exists():
        with ARTIFACT.open() as handle:
            rows = [r for r in csv.DictReader(handle) if r["model"] != BASELINE]
        return {r["model"]: float(r["score"]) for r in rows[:limit]}
    return {f"model-{i}": 5 + 90 * i / max(1, limit - 1) for i in range(limit)}


def write_judgments(folder: Path, scores: dict[str, float], questions: int, seed: int = 0) -> None:
    """v0.1 judgment files whose verdicts follow Bradley-Terry with the given win rates."""
    rng = np.random.default_rng(seed)
    for model, score in scores.items():
        p = min(max(score / 100, 0.005), 0.995)
        lines = []
        for q in range(questions):
            games = []
            for game in (0, 1):
                wins = rng.random() < p
                draw = rng.random()
                if draw < 0.25:
                    label = "A=B"
                elif draw < 0.55:
                    label = "B>>A" if wins else "A>>B"
                else:
                    label = "B>A" if wins else "A>B"
                if game == 1:  # model in position A
                    label = {"A=B": "A=B", "B>>A": "A>>B", "A>>B": "B>>A", "B>A": "A>B", "A>B": "B>A"}[label]
                if rng.random() < 0.01:
                    label = None
                games.append({"user_prompt": "...", "judgment": "...", "score": label})
            lines.append({"question_id": f"q{q:04d}", "model": model, "judge": "synthetic", "games": games})
        (folder / f"{model}.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))


# ----------------------------------------------------------------------------------------------------------
# Reference procedure (Arena-Hard-Auto v0.1 show_result.py), re-implemented for comparison
# ----------------------------------------------------------------------------------------------------------
GAME1 = {
    "A=B": ("tie", 1),
    "A>B": ("model_a", 1),
    "A>>B": ("model_a", 3),
    "B>A": ("model_b", 1),
    "B>>A": ("model_b", 3),
}
GAME2 = {
    "A=B": ("tie", 1),
    "A>B": ("model_b", 1),
    "A>>B": ("model_b", 3),
    "B>A": ("model_a", 1),
    "B>>A": ("model_a", 3),
}


def reference_battles(folder: Path):
    import pandas as pd

    rows = []
    for path in sorted(folder.glob("*.jsonl")):
        for record in pd.read_json(path, lines=True).itertuples():
            for table, game in ((GAME1, record.games[0]), (GAME2, record.games[1])):
                if game["score"] in table:
                    winner, weight = table[game["score"]]
                    battle = {"question_id": record.question_id, "model_a": BASELINE, "model_b": record.model}
                    rows += [{**battle, "winner": winner}] * weight
    return pd.DataFrame(rows)


def reference_mle(battles):
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    models = pd.concat([battles["model_a"], battles["model_b"]]).unique()
    models = pd.Series(np.arange(len(models)), index=models)
    doubled = pd.concat([battles, battles], ignore_index=True)
    n = len(doubled)
    X = np.zeros([n, len(models)])
    X[np.arange(n), models[doubled["model_a"]]] = math.log(10)
    X[np.arange(n), models[doubled["model_b"]]] = -math.log(10)
    Y = np.zeros(n)
    Y[(doubled["winner"] == "model_a").to_numpy()] = 1.0
    tie = (doubled["winner"] == "tie").to_numpy().copy()
    tie[n // 2 :] = False
    Y[tie] = 1.0
    fit = LogisticRegression(fit_intercept=False, C=np.inf, tol=1e-8).fit(X, Y)
    elo = 400 * fit.coef_[0] + 1000
    elo += 1000 - elo[models[BASELINE]]
    return pd.Series(elo, index=models.index)


def reference_scores(folder: Path, rounds: int) -> dict[str, tuple[float, float, float]]:
    import pandas as pd

    battles = reference_battles(folder)
    point = reference_mle(battles)
    np.random.seed(42)
    boot = pd.DataFrame([reference_mle(battles.sample(frac=1.0, replace=True)) for _ in range(rounds)])

    def rate(elo: float) -> float:
        return 100 / (1 + 10 ** ((point[BASELINE] - elo) / 400))

    return {
        m: (rate(point[m]), rate(np.percentile(boot[m], 2.5)), rate(np.percentile(boot[m], 97.5)))
        for m in point.index
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--models", type=int, default=35)
    parser.add_argument("--questions", type=int, default=500)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "model_judgment" / "synthetic"
        folder.mkdir(parents=True)
        write_judgments(folder, published_scores(args.models), args.questions)

        start = time.perf_counter()
        reference = reference_scores(folder, args.rounds)
        reference_time = time.perf_counter() - start

        start = time.perf_counter()
        board = score_judgments(folder, ScoreOptions(baseline=BASELINE, rounds=args.rounds, seed=42))
        ours_time = time.perf_counter() - start

    result = board.result("overall")
    score_diff = max(abs(s - reference[m][0]) for m, s in zip(result.models, result.score, strict=True))
    ci_diff = max(
        max(abs(lo - reference[m][1]), abs(hi - reference[m][2]))
        for m, lo, hi in zip(result.models, result.lower, result.upper, strict=True)
    )
    print(f"models: {len(result.models)}, questions: {args.questions}, bootstrap rounds: {args.rounds}")
    print(f"max |score difference| vs reference: {score_diff:.4f} (must be < 0.1)")
    print(f"max |CI bound difference| vs reference: {ci_diff:.4f}")
    print(f"reference (pandas + sklearn per round): {reference_time:.2f} s")
    print(f"sosbench judge score:                  {ours_time:.3f} s")
    print(f"speed-up: {reference_time / ours_time:.1f}x (goal: >= 20x)")
    if score_diff >= 0.1:
        raise SystemExit("FAIL: scores disagree with the reference procedure")


if __name__ == "__main__":
    main()
