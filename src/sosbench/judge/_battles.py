"""Judgment files to battles, as Arena-Hard-Auto v0.1 counts them.

Each game is one battle between the judged model and the baseline. Game 1 has the baseline in position A,
game 2 has the model there, so a game-2 verdict is read with the roles swapped. A strong verdict (``>>``)
counts as three battles, a tie as one battle scored 0.5 (the reference duplicates every battle and
counts a tie as one win each way, which is the same likelihood). A game with no readable verdict for the
criterion is dropped and counted in ``unparsed``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sosbench._io import iter_jsonl
from sosbench.errors import SosbenchError
from sosbench.judge._files import judged_by, mixing_refused
from sosbench.judge._parsing import normalize_verdict, parse_criterion, parse_verdict

STRONG_WEIGHT = 3
OVERALL_CRITERION = "overall"

# verdict in game 1 (A = baseline, B = model) -> (model's outcome, weight)
_GAME1 = {
    "A>>B": (0.0, STRONG_WEIGHT),
    "A>B": (0.0, 1),
    "A=B": (0.5, 1),
    "B>A": (1.0, 1),
    "B>>A": (1.0, STRONG_WEIGHT),
}
# verdict in game 2 (A = model, B = baseline)
_GAME2 = {
    "A>>B": (1.0, STRONG_WEIGHT),
    "A>B": (1.0, 1),
    "A=B": (0.5, 1),
    "B>A": (0.0, 1),
    "B>>A": (0.0, STRONG_WEIGHT),
}


@dataclass(frozen=True)
class Judgment:
    """One judged game read back from a file."""

    model: str
    uid: str
    game: int  # 0: baseline in position A; 1: model in position A
    record: dict

    def verdict(self, criterion: str) -> str | None:
        """The game's canonical verdict for a criterion: the stored field, else parsed from the text."""
        key = "score" if criterion == OVERALL_CRITERION else f"{criterion}_score"
        if key in self.record:
            return normalize_verdict(self.record[key])
        text = self.record.get("judgment") or ""
        return (
            parse_verdict(text) if criterion == OVERALL_CRITERION else parse_criterion(text, criterion)
        ).label


def read_judgments(directory: Path) -> list[Judgment]:
    """Every game of every ``*.jsonl`` file in a judge's folder (files in name order, games in file order).

    Lines that record their judge and template (sosbench's) must all agree: a folder mixing judges or
    templates would give one leaderboard of incomparable verdicts, so it is refused.
    """
    if not directory.is_dir():
        raise SosbenchError(f"--judgments {directory}: no such folder (expected model_judgment/<judge>/)")
    files = sorted(directory.glob("*.jsonl"))
    if not files:
        raise SosbenchError(f"--judgments {directory}: no .jsonl judgment files in it")
    games: list[Judgment] = []
    keys: dict[tuple[str, str], str] = {}  # (judge, template hash) -> first line holding it
    for path in files:
        for number, record in iter_jsonl(path, "judgment file", torn_tail_ok=True):
            where = f"{path}:{number}"
            uid, model, pair = (
                record.get("question_id", record.get("uid")),
                record.get("model"),
                record.get("games"),
            )
            if (
                not isinstance(uid, (str, int))
                or not isinstance(model, str)
                or not isinstance(pair, list)
                or not all(g is None or isinstance(g, dict) for g in pair)
            ):
                raise SosbenchError(
                    f"{where}: a judgment line needs question_id, model and games (a list of game objects; "
                    "Arena-Hard-Auto v0.1 layout)"
                )
            if "template_sha256" in record:
                keys.setdefault((str(record.get("judge")), str(record["template_sha256"])), where)
                if len(keys) > 1:
                    (judge_a, sha_a), (judge_b, sha_b) = list(keys)[:2]
                    raise mixing_refused(
                        directory,
                        judged_by(judge_a, sha_a),
                        f"{judged_by(judge_b, sha_b)} ({where})",
                        "score each judge and template from its own folder",
                    )
            for index, game in enumerate(pair[:2]):
                games.append(Judgment(model, str(uid), index, game or {}))
    return games


def has_criterion(judgments: list[Judgment], criterion: str) -> bool:
    """Whether any game carries a verdict for the criterion."""
    return any(j.verdict(criterion) is not None for j in judgments)


@dataclass(frozen=True)
class Battles:
    """Battles of models against the baseline, one row per counted battle (strong verdicts repeated)."""

    models: tuple[str, ...]  # index 0 is the baseline
    model: np.ndarray  # (n,) index of the judged model
    opponent: np.ndarray  # (n,) index of the other side (the baseline)
    outcome: np.ndarray  # (n,) 1 model wins, 0.5 tie, 0 baseline wins
    game_row: np.ndarray  # (n,) index into ``games`` of the game a battle came from
    games: tuple[Judgment, ...]
    unparsed: dict[str, int]  # per model: games with no readable verdict


def build_battles(judgments: list[Judgment], criterion: str, baseline: str) -> Battles:
    """The battles of one criterion (``overall`` or a criterion name)."""
    labels = [None if j.model == baseline else j.verdict(criterion) for j in judgments]
    judged = sorted({j.model for j, label in zip(judgments, labels, strict=True) if label is not None})
    models = (baseline, *judged)
    index = {m: i for i, m in enumerate(models)}
    rows: list[tuple[int, float, int]] = []
    unparsed: Counter[str] = Counter({j.model: 0 for j in judgments if j.model != baseline})
    for row, (judgment, label) in enumerate(zip(judgments, labels, strict=True)):
        if judgment.model == baseline:
            continue
        if label is None:
            unparsed[judgment.model] += 1
            continue
        outcome, weight = (_GAME1 if judgment.game == 0 else _GAME2)[label]
        rows.extend([(index[judgment.model], outcome, row)] * weight)
    if not rows:
        raise SosbenchError(f"no readable {criterion} verdicts in the judgments: nothing to score")
    data = np.array(rows, dtype=float)
    return Battles(
        models=models,
        model=data[:, 0].astype(np.intp),
        opponent=np.zeros(len(rows), dtype=np.intp),
        outcome=data[:, 1],
        game_row=data[:, 2].astype(np.intp),
        games=tuple(judgments),
        unparsed=dict(unparsed),
    )
