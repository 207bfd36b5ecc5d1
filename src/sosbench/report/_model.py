"""What a report shows: rows of scored models (yours and the paper's), judge scores, audit, analyses."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sosbench._io import read_json
from sosbench.analysis import Comparison, PaperAnalysis, read_arena_hard
from sosbench.errors import SosbenchError
from sosbench.scoring import FACTOR_NAMES, ModelScore, ScoreReport


@dataclass(frozen=True)
class Row:
    """One model in the report: its scores, where it comes from and its judge score if any."""

    model: ModelScore
    origin: str  # "paper" or "user"
    label: str
    judge: float | None = None
    livebench_average: float | None = None

    def factor(self, name: str) -> float | None:
        return self.model.factors[name].score

    def ci(self, name: str) -> tuple[float | None, float | None]:
        f = self.model.factors[name]
        return f.ci_low, f.ci_high


@dataclass(frozen=True)
class ReportData:
    rows: list[Row]
    judge_label: str = "Arena-Hard"
    notes: list[str] = field(default_factory=list)
    paper: PaperAnalysis | None = None
    audit: list[dict[str, Any]] | None = None
    audit_source: str | None = None
    inputs: list[str] = field(default_factory=list)
    factor_names: tuple[str, ...] = FACTOR_NAMES
    comparison: Comparison | None = None

    def series(self) -> dict[str, dict[str, float]]:
        """Per-measure values keyed by row label: judge score, the factors, LiveBench average."""
        out: dict[str, dict[str, float]] = {
            self.judge_label: {r.label: r.judge for r in self.rows if r.judge is not None}
        }
        for f in self.factor_names:
            out[f] = {r.label: v for r in self.rows if (v := r.factor(f)) is not None}
        averages = {r.label: r.livebench_average for r in self.rows if r.livebench_average is not None}
        if averages:
            out["LiveBench avg"] = averages
        return out


def read_judge_scores(path: Path) -> dict[str, float]:
    """model -> judge score from an Arena-Hard-style CSV (model, score, ...)."""
    return {m: s.score for m, s in read_arena_hard(path).items()}


def read_audit(path: Path) -> list[dict[str, Any]]:
    """The judges of a judge-audit JSON ({"judges": [{"judge", "n_models", "criteria": {...}, "factors":
    {...}}]})."""
    data = read_json(path, "judge audit JSON")
    judges = data.get("judges") if isinstance(data, dict) else None
    if not isinstance(judges, list) or not all(isinstance(j, dict) and "judge" in j for j in judges):
        raise SosbenchError(
            f'{path}: not a judge audit (expected {{"judges": [{{"judge": ..., "criteria": ...}}]}})'
        )
    return judges


def _marked(label: str, model: ModelScore) -> str:
    """The label every table and figure shows: '*' for a partial factor, the items per task of a --limit
    run."""
    if any(f.partial for f in model.factors.values()):
        label += " *"
    if model.limited:
        label += f" [{model.limited}]"
    return label


def build_report_data(
    user: ScoreReport | None,
    paper: PaperAnalysis | None,
    *,
    judge_scores: dict[str, float] | None = None,
    judge_label: str | None = None,
    audit: list[dict[str, Any]] | None = None,
    audit_source: str | None = None,
    inputs: list[str] | None = None,
    comparison: Comparison | None = None,
    rank_limited: bool = False,
) -> ReportData:
    """Your models beside the paper's: paper rows carry the artifact Arena-Hard score as judge score.

    A --limit run is refused beside the paper's full runs unless ``rank_limited``; its label says how many
    items per task it scored, and a model with a partial factor carries a ``*`` (tables and figures).
    """
    if user is None and paper is None:
        raise SosbenchError("nothing to report: pass run folders / results files, or --paper")
    rows: list[Row] = []
    notes: list[str] = []
    paper_names = set()
    if paper is not None:
        for m in paper.scores.models:
            arena = paper.data.arena_hard.get(m.model)
            rows.append(
                Row(
                    m,
                    "paper",
                    m.model,
                    arena.score if arena else None,
                    paper.data.livebench_average.get(m.model),
                )
            )
            paper_names.add(m.model)
        notes += paper.scores.notes
    if user is not None:
        judge = judge_scores or {}
        limited = [m for m in user.models if m.limited]
        if paper is not None and limited and not rank_limited:
            m = limited[0]
            raise SosbenchError(
                f"{m.model} is a --limit run ({m.limited}): it does not rank among the paper's full runs; "
                "pass --rank-limited to show it in the leaderboard anyway (marked), or leave out --paper"
            )
        for m in user.models:
            label = f"{m.model} (yours)" if m.model in paper_names else m.model
            rows.append(Row(m, "user", _marked(label, m), judge.get(m.model)))
        notes += [n for n in user.notes if n not in notes]
        if paper is not None and judge_scores:
            notes.append(
                "your judge scores are plotted on the paper's Arena-Hard axis: compare them only if they "
                "come "
                "from the same judge, baseline and questions"
            )
    label = judge_label or ("Arena-Hard" if paper is not None or judge_scores else "Judge")
    return ReportData(
        rows, label, notes, paper, audit, audit_source, list(inputs or []), comparison=comparison
    )
