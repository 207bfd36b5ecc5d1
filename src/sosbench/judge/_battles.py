"""Judgment files to battles, as Arena-Hard-Auto counts them.

Each game is one battle between the judged model and the baseline. Game 1 has the baseline in position A,
game 2 has the model there, so a game-2 verdict is read with the roles swapped. A strong verdict (``>>``)
counts as three battles, a tie as one battle scored 0.5 (the v0.1 reference duplicates every battle and
counts a tie as one win each way, which is the same likelihood; v2.0 scores a tie 0.5). A game with no
readable verdict for the criterion is counted in ``unparsed`` and dropped: on its own under v0.1's rules,
with its question's other game under v2.0's (``load_judgments`` of v2.0's ``show_result.py``), whose
battles are listed in its order too (per line, game 2's then game 1's).
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
    category: str = "arena-hard-v0.1"  # the question's category (v2.0 lines carry it)

    def verdict(self, criterion: str) -> str | None:
        """The game's canonical verdict for a criterion: the stored field, else parsed from the text."""
        key = "score" if criterion == OVERALL_CRITERION else f"{criterion}_score"
        if key in self.record:
            return normalize_verdict(self.record[key])
        text = judgment_text(self.record)
        return (
            parse_verdict(text) if criterion == OVERALL_CRITERION else parse_criterion(text, criterion)
        ).label


def judgment_text(game: dict) -> str:
    """A game's judgment text: v0.1 stores a string, v2.0 ``{"answer": text}``."""
    judgment = game.get("judgment")
    if isinstance(judgment, dict):
        judgment = judgment.get("answer")
    return judgment if isinstance(judgment, str) else ""


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
                    f"{where}: a judgment line needs uid (or question_id), model and games (a list of game "
                    "objects; Arena-Hard-Auto's layout)"
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
            category = str(record.get("category", "arena-hard-v0.1"))
            for index, game in enumerate(pair[:2]):
                games.append(Judgment(model, str(uid), index, game or {}, category))
            if len(pair) < 2:  # a question judged once: its second game is missing (no verdict)
                games.extend(Judgment(model, str(uid), i, {}, category) for i in range(len(pair), 2))
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


def build_battles(
    judgments: list[Judgment], criterion: str, baseline: str, *, per_question: bool = False
) -> Battles:
    """The battles of one criterion (``overall`` or a criterion name).

    ``per_question`` (v2.0): a question counts only when both its games have a verdict, and its battles
    are listed game 2 first, as v2.0's ``show_result.py`` lists them.
    """
    labels = [None if j.model == baseline else j.verdict(criterion) for j in judgments]
    order = list(range(len(judgments)))
    if per_question:
        labels, order = _whole_questions(judgments, labels)
    judged = sorted({j.model for j, label in zip(judgments, labels, strict=True) if label is not None})
    models = (baseline, *judged)
    index = {m: i for i, m in enumerate(models)}
    rows: list[tuple[int, float, int]] = []
    unparsed: Counter[str] = Counter({j.model: 0 for j in judgments if j.model != baseline})
    for row in order:
        judgment, label = judgments[row], labels[row]
        if judgment.model == baseline:
            continue
        if label is None:
            unparsed[judgment.model] += judgment.verdict(criterion) is None
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


def _whole_questions(
    judgments: list[Judgment], labels: list[str | None]
) -> tuple[list[str | None], list[int]]:
    """Labels with both games of a question dropped when either lacks one; rows in v2.0's battle order."""
    rows: dict[tuple[str, str], dict[int, int]] = {}
    for row, judgment in enumerate(judgments):
        rows.setdefault((judgment.model, judgment.uid), {})[judgment.game] = row
    kept = list(labels)
    order: list[int] = []
    for games in rows.values():
        if set(games) != {0, 1} or any(labels[r] is None for r in games.values()):
            for r in games.values():
                kept[r] = None
        order += [games[g] for g in (1, 0) if g in games]
    return kept, order
