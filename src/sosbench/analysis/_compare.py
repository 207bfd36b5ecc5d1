"""Paired, item-level comparison of two runs: "did the candidate really get better than the base?".

Both runs answered the same items, so their outcomes are correlated; resampling items *jointly*
(one index matrix for both models) keeps that correlation and gives a narrower, correct CI for the
difference than treating the runs as independent. Every row (benchmark, factor, Overall, judge) is
computed from the same seeded resamples, carried through the scoring formula (docs/scoring.md), and
its p-value is adjusted across all rows of the comparison. docs/compare.md states the method.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from sosbench._io import read_json_object
from sosbench.errors import SosbenchError
from sosbench.results import read_results
from sosbench.results._lmeval import check_aggregates, find_samples, sample_rows
from sosbench.rundir import DONE, LIVEBENCH_SCORES, MANIFEST, RESULTS, read_done, read_manifest, samples_name
from sosbench.scoring import OVERALL
from sosbench.suite import FACTORS, Benchmark, benchmarks

ADJUSTMENTS = ("holm", "bh", "none")
POWER = 0.80
CHUNK_ELEMENTS = 4_000_000


@dataclass(frozen=True)
class ItemScores:
    """One component's per-item outcome: score = sum(num) / sum(den) over the items kept."""

    ids: tuple[str, ...]
    num: np.ndarray
    den: np.ndarray
    prompt: tuple[str | None, ...]
    detail: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class BenchmarkItems:
    """A benchmark's components; components with the same ``item_set`` were scored on the same items."""

    name: str
    factor: str
    components: tuple[tuple[str, str, ItemScores], ...]  # (key, item_set, items)
    invert: bool = False
    version: str = ""


@dataclass
class RunItems:
    """What a comparison needs from one run: its identity (protocol, limit) and item-level outcomes."""

    model: str
    protocol: str
    limit: Any
    benchmarks: dict[str, BenchmarkItems] = field(default_factory=dict)
    source: str = ""


@dataclass(frozen=True)
class Row:
    """One compared quantity (0-1 scale): difference candidate - base, its CIs, test and verdict."""

    name: str
    kind: str  # benchmark | factor | judge
    factor: str
    n: int
    base: float
    candidate: float
    diff: float
    ci: tuple[float, float]
    ci_unpaired: tuple[float, float] | None
    test: str
    p: float
    mde: float
    lost: int | None = None  # right before, wrong after (or: score went down)
    gained: int | None = None  # wrong before, right after (or: score went up)
    p_tost: float | None = None
    p_adjusted: float = float("nan")
    p_tost_adjusted: float | None = None
    verdict: str = ""

    def to_json(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["ci"] = list(self.ci)
        out["ci_unpaired"] = list(self.ci_unpaired) if self.ci_unpaired else None
        return out


@dataclass(frozen=True)
class Comparison:
    base: str
    candidate: str
    rows: tuple[Row, ...]
    alpha: float
    adjust: str
    margin: float | None
    rounds: int
    seed: int
    notes: tuple[str, ...] = ()
    judge_only_gain: bool = False
    differing_items: tuple[dict[str, Any], ...] = ()  # the first ITEM_VIEW_LIMIT of them
    differing_total: int = 0  # how many items the two runs score differently, all of them

    def to_json(self) -> dict[str, Any]:
        return {
            "base": self.base,
            "candidate": self.candidate,
            "rows": [r.to_json() for r in self.rows],
            "alpha": self.alpha,
            "adjust": self.adjust,
            "equivalence_margin": self.margin,
            "bootstrap": self.rounds,
            "seed": self.seed,
            "judge_only_gain": self.judge_only_gain,
            "items_scored_differently": self.differing_total,
            "notes": list(self.notes),
        }


# ---------------------------------------------------------------------------------------- reading


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    for lineno, row in sample_rows(path):
        if not isinstance(row, dict):
            raise SosbenchError(f"{path}:{lineno}: not a JSON object")
        rows.append(row)
    return rows


def _prompt_of(row: dict[str, Any]) -> str | None:
    """The prompt lm-eval logged (its hash when present, else the first request argument)."""
    if row.get("prompt_hash"):
        return str(row["prompt_hash"])
    args = row.get("arguments")
    if isinstance(args, dict):
        args = next(iter(args.values()), None)
    if isinstance(args, dict):
        args = args.get("arg_0")
    if isinstance(args, list) and args:
        return str(args[0])
    return None


def _text(value: Any) -> str:
    while isinstance(value, list) and value:
        value = value[0]
    return "" if value is None else str(value)


def _detail(row: dict[str, Any]) -> dict[str, Any]:
    """What the per-item view shows: the prompt, the response and the gold answer."""
    args = row.get("arguments")
    if isinstance(args, dict):
        args = next(iter(args.values()), None)
    prompt = args.get("arg_0") if isinstance(args, dict) else _text(args)
    return {
        "prompt": _text(prompt),
        "response": _text(row.get("filtered_resps") or row.get("resps")),
        "gold": _text(row.get("target")),
    }


def _metric_items(rows: list[dict[str, Any]], metric: str, prefix: str, path: Path) -> ItemScores:
    ids, nums, dens, prompts, details = [], [], [], [], []
    for lineno, row in enumerate(rows, 1):
        if metric not in row or "doc_id" not in row:
            raise SosbenchError(f"{path}:{lineno}: no doc_id or {metric!r}: is it an lm-eval samples log?")
        value = row[metric]
        if isinstance(value, list):
            nums.append(float(sum(bool(v) for v in value)))
            dens.append(float(len(value)))
        else:
            nums.append(float(value))
            dens.append(1.0)
        ids.append(f"{prefix}{row['doc_id']}")
        prompts.append(_prompt_of(row))
        details.append(_detail(row))
    return ItemScores(tuple(ids), np.asarray(nums), np.asarray(dens), tuple(prompts), tuple(details))


def _lmeval_items(
    bench: Benchmark, folder: Path, data: dict[str, Any], protocol: str, stamp: str = ""
) -> BenchmarkItems | None:
    """A benchmark's components from its samples logs (None when a log is missing); items keyed
    task:doc_id."""
    keys, tasks = bench.result_keys(protocol), bench.sample_tasks(protocol)
    logs = {t: find_samples(folder, t, stamp) for t in tasks}
    if any(p is None for p in logs.values()):
        return None
    rows = {t: _read_jsonl(p) for t, p in logs.items()}  # type: ignore[arg-type]
    components = []
    if bench.score is not None and bench.score.pool:
        metric = keys[0].split("/", 1)[1]
        parts = [_metric_items(rows[t], metric, f"{t}:", logs[t]) for t in tasks]  # type: ignore[arg-type]
        pooled = ItemScores(
            tuple(i for p in parts for i in p.ids),
            np.concatenate([p.num for p in parts]),
            np.concatenate([p.den for p in parts]),
            tuple(x for p in parts for x in p.prompt),
            tuple(x for p in parts for x in p.detail),
        )
        components.append((keys[0], keys[0].split("/", 1)[0], pooled))
    else:
        for key in keys:
            task, metric = key.split("/", 1)
            components.append((key, task, _metric_items(rows[task], metric, f"{task}:", logs[task])))  # type: ignore[arg-type]
    versions = data.get("versions") or {}
    version = json.dumps({t: versions.get(t) for t in tasks}, sort_keys=True)
    invert = bool(bench.score is not None and bench.score.invert)
    return BenchmarkItems(bench.name, bench.factor, tuple(components), invert, version)


_NO_DETAIL = {"prompt": "", "response": "", "gold": ""}


def _livebench_details(samples: Path) -> dict[str, dict[str, str]]:
    """question_id -> prompt, response and ground truth, from the lm-eval samples log the run kept."""
    if not samples.is_file():
        return {}
    details = {}
    for row in _read_jsonl(samples):
        doc: dict[str, Any] = row["doc"] if isinstance(row.get("doc"), dict) else {}
        turns = doc.get("turns") or [""]
        details[str(doc.get("question_id"))] = {
            "prompt": _text(turns),
            "response": _text(row.get("filtered_resps") or row.get("resps")),
            "gold": _text(doc.get("ground_truth")),
        }
    return details


def _livebench_items(bench: Benchmark, folder: Path) -> BenchmarkItems:
    path = folder / LIVEBENCH_SCORES
    if not path.is_file():
        raise SosbenchError(f"{path}: missing although {folder / DONE} exists: re-run the benchmark")
    by_task: dict[str, list[dict[str, Any]]] = {}
    for row in _read_jsonl(path):
        by_task.setdefault(str(row.get("task")), []).append(row)
    components = []
    for task in bench.livebench.tasks:  # type: ignore[union-attr]
        rows = by_task.get(task, [])
        details = _livebench_details(folder / samples_name(f"livebench_{task}"))
        items = ItemScores(
            tuple(str(r["question_id"]) for r in rows),
            np.asarray([float(r["score"]) for r in rows]),
            np.ones(len(rows)),
            tuple(None for _ in rows),
            tuple(details.get(str(r["question_id"]), _NO_DETAIL) for r in rows),
        )
        components.append((task, task, items))
    return BenchmarkItems(bench.name, bench.factor, tuple(components), False, "livebench")


def read_run_items(folder: Path) -> RunItems:
    """Item-level outcomes of a `sosbench run` folder (benchmarks without samples logs are left out)."""
    view = read_manifest(folder / MANIFEST)
    config = read_json_object(folder / MANIFEST, "run manifest").get("config") or {}
    if not isinstance(config, dict):
        raise SosbenchError(
            f"{folder / MANIFEST}: config is not an object: restore it or rerun `sosbench run`"
        )
    run = RunItems(view.model_name or folder.name, view.protocol, config.get("limit"), source=str(folder))
    for bench in benchmarks():
        sub = folder / bench.name
        if not (sub / DONE).is_file():
            continue
        read_done(sub / DONE, bench.name)
        items: BenchmarkItems | None
        if bench.livebench:
            items = _livebench_items(bench, sub)
        else:
            data, _ = read_results(sub / RESULTS)
            check_aggregates(bench, data, view.protocol, str(sub / RESULTS))
            items = _lmeval_items(bench, sub, data, view.protocol)
        if items is not None:
            run.benchmarks[bench.name] = items
    if not run.benchmarks:
        raise SosbenchError(f"{folder}: no finished benchmark with per-item logs: compare needs samples logs")
    return run


def read_lmeval_items(path: Path) -> RunItems:
    """Item-level outcomes of an lm-eval results JSON with its ``samples_<task>_<timestamp>.jsonl`` logs."""
    data, _ = read_results(path)
    config = data.get("config") or {}
    tasks = set(data["results"]) | set(data.get("groups") or {})
    protocol = next(
        (p for p in ("corrected", "paper") if any(t.endswith("_corrected") for t in tasks)), "paper"
    )
    name = str(data.get("model_name") or path.parent.name).rstrip("/").rsplit("/", 1)[-1]
    run = RunItems(name, protocol, config.get("limit"), source=str(path))
    for bench in benchmarks():
        if bench.livebench or not any(k.split("/", 1)[0] in tasks for k in bench.result_keys(protocol)):
            continue
        check_aggregates(bench, data, protocol, str(path))
        items = _lmeval_items(bench, path.parent, data, protocol, path.stem[len("results") :])
        if items is not None:
            run.benchmarks[bench.name] = items
    if not run.benchmarks:
        raise SosbenchError(
            f"{path}: no SOS-Bench benchmark with samples logs next to it: run lm-eval with --log_samples"
        )
    return run


def read_items(path: Path) -> RunItems:
    """A run folder or an lm-eval results JSON with per-sample logs."""
    if path.is_dir():
        if (path / MANIFEST).is_file():
            return read_run_items(path)
        found = sorted(path.rglob("results*.json"))
        if not found:
            raise SosbenchError(f"{path}: neither a run folder ({MANIFEST}) nor a folder of lm-eval results")
        return read_lmeval_items(found[-1])
    if not path.exists():
        raise SosbenchError(f"{path}: no such file or folder: check the path")
    return read_lmeval_items(path)


# ---------------------------------------------------------------------------------------- pairing


@dataclass(frozen=True)
class _Paired:
    """One benchmark's components aligned on shared items: arrays (items,) for base and candidate."""

    name: str
    factor: str
    invert: bool
    sets: dict[str, int]  # item_set -> items
    components: tuple[
        tuple[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray], ...
    ]  # set, bnum, bden, cnum, cden
    ids: dict[str, tuple[str, ...]]
    details: dict[
        str, tuple[tuple[dict[str, Any], ...], tuple[dict[str, Any], ...]]
    ]  # item_set -> (base, cand)


def _pair_benchmark(base: BenchmarkItems, cand: BenchmarkItems) -> _Paired:
    if base.version != cand.version:
        raise SosbenchError(
            f"{base.name}: task versions differ ({base.version} vs {cand.version}): re-run one of them"
        )
    comps: list[tuple[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    sets: dict[str, int] = {}
    ids: dict[str, tuple[str, ...]] = {}
    details: dict[str, tuple[tuple[dict[str, Any], ...], tuple[dict[str, Any], ...]]] = {}
    for (key, item_set, b), (_, _, c) in zip(base.components, cand.components, strict=True):
        shared = sorted(set(b.ids) & set(c.ids))
        if not shared:
            raise SosbenchError(
                f"{base.name}: {key}: the two runs share no items: were they run on the same data?"
            )
        bi = {d: i for i, d in enumerate(b.ids)}
        ci = {d: i for i, d in enumerate(c.ids)}
        b_idx = np.asarray([bi[d] for d in shared])
        c_idx = np.asarray([ci[d] for d in shared])
        for d, i, j in zip(shared, b_idx, c_idx, strict=True):
            if b.prompt[i] is not None and c.prompt[j] is not None and b.prompt[i] != c.prompt[j]:
                raise SosbenchError(
                    f"{base.name}: item {d} has different prompts in the two runs: different chat template "
                    "or few-shot setting? compare runs made with the same configuration"
                )
        if item_set in sets and sets[item_set] != len(shared):
            raise SosbenchError(f"{base.name}: components of {item_set} cover different items")
        sets[item_set] = len(shared)
        ids[item_set] = tuple(shared)
        if b.detail and c.detail:
            details.setdefault(
                item_set, (tuple(b.detail[i] for i in b_idx), tuple(c.detail[j] for j in c_idx))
            )
        comps.append((item_set, b.num[b_idx], b.den[b_idx], c.num[c_idx], c.den[c_idx]))
    return _Paired(base.name, base.factor, base.invert, sets, tuple(comps), ids, details)


def pair_runs(base: RunItems, cand: RunItems) -> tuple[list[_Paired], list[str]]:
    """The shared benchmarks, aligned item by item; runs that cannot be paired are refused."""
    if base.protocol != cand.protocol:
        raise SosbenchError(
            f"protocols differ ({base.model}: {base.protocol}, {cand.model}: {cand.protocol}): "
            "compare runs of the same protocol"
        )
    if base.limit != cand.limit:
        raise SosbenchError(
            f"--limit differs ({base.model}: {base.limit}, {cand.model}: {cand.limit}): compare runs with "
            "the same limit"
        )
    shared = [b.name for b in benchmarks() if b.name in base.benchmarks and b.name in cand.benchmarks]
    if not shared:
        raise SosbenchError(f"{base.model} and {cand.model} share no benchmark with per-item logs")
    only = sorted(set(base.benchmarks) ^ set(cand.benchmarks))
    notes = [f"benchmarks in only one run, left out: {', '.join(only)}"] if only else []
    return [_pair_benchmark(base.benchmarks[n], cand.benchmarks[n]) for n in shared], notes


# ---------------------------------------------------------------------------------------- statistics


def _score(p: _Paired, which: int) -> float:
    """The benchmark's score (docs/scoring.md) for base (0) or candidate (1)."""
    values = [(c[3].sum() / c[4].sum()) if which else (c[1].sum() / c[2].sum()) for c in p.components]
    value = float(np.mean(values))
    return 1.0 - value if p.invert else value


def _rounds(p: _Paired, rng: np.random.Generator, rounds: int, paired: bool) -> tuple[np.ndarray, np.ndarray]:
    """Bootstrap scores (rounds,) of base and candidate; ``paired`` uses one resample of items for both."""
    base_parts, cand_parts = [], []
    for item_set, n in p.sets.items():
        members = [c for c in p.components if c[0] == item_set]
        b_means = [np.empty(rounds) for _ in members]
        c_means = [np.empty(rounds) for _ in members]
        step = max(1, CHUNK_ELEMENTS // max(n, 1))
        for start in range(0, rounds, step):
            stop = min(rounds, start + step)
            idx = rng.integers(0, n, size=(stop - start, n))
            idx_c = idx if paired else rng.integers(0, n, size=(stop - start, n))
            for k, (_, bn, bd, cn, cd) in enumerate(members):
                b_means[k][start:stop] = bn[idx].sum(axis=1) / np.maximum(bd[idx].sum(axis=1), 1e-12)
                c_means[k][start:stop] = cn[idx_c].sum(axis=1) / np.maximum(cd[idx_c].sum(axis=1), 1e-12)
        base_parts += b_means
        cand_parts += c_means
    b, c = np.mean(base_parts, axis=0), np.mean(cand_parts, axis=0)
    return (1.0 - b, 1.0 - c) if p.invert else (b, c)


def _sign_flip_diffs(p: _Paired, rng: np.random.Generator, permutations: int) -> np.ndarray:
    """Differences under the null: each item's two outcomes swapped at random (one coin per item)."""
    total = np.zeros(permutations)
    count = len(p.components)
    for item_set, n in p.sets.items():
        members = [c for c in p.components if c[0] == item_set]
        step = max(1, CHUNK_ELEMENTS // max(n, 1))
        for start in range(0, permutations, step):
            stop = min(permutations, start + step)
            swap = rng.random((stop - start, n)) < 0.5
            for _, bn, bd, cn, cd in members:
                cand_num = np.where(swap, bn, cn).sum(axis=1)
                cand_den = np.where(swap, bd, cd).sum(axis=1)
                base_num = np.where(swap, cn, bn).sum(axis=1)
                base_den = np.where(swap, cd, bd).sum(axis=1)
                total[start:stop] += (cand_num / cand_den - base_num / base_den) / count
    return -total if p.invert else total


def _is_binary(p: _Paired) -> bool:
    """One component of 0/1 items (one point each): the case exact McNemar covers."""
    if len(p.components) != 1:
        return False
    _, base_num, base_den, cand_num, cand_den = p.components[0]
    values = np.concatenate([base_num, cand_num])
    return bool(np.all(np.isin(values, (0.0, 1.0))) and np.all(base_den == 1.0) and np.all(cand_den == 1.0))


def _flips(p: _Paired) -> tuple[int, int]:
    """Items that got worse and better (for 0/1 items: right->wrong, wrong->right), on the first component of
    each item set."""
    lost = gained = 0
    seen: set[str] = set()
    for item_set, bn, bd, cn, cd in p.components:
        if item_set in seen:
            continue
        seen.add(item_set)
        before, after = bn / bd, cn / cd
        lost += int(np.sum(after < before))
        gained += int(np.sum(after > before))
    return lost, gained


def _permutation_p(observed: float, null: np.ndarray) -> float:
    return float((1 + np.sum(np.abs(null) >= abs(observed) - 1e-12)) / (1 + len(null)))


def _tost_p(diff: float, se: float, margin: float) -> float:
    """Two one-sided tests of |difference| < margin, normal approximation with the paired bootstrap SE."""
    if se <= 0:
        return 0.0 if abs(diff) < margin else 1.0
    return float(max(stats.norm.sf((diff + margin) / se), stats.norm.cdf((diff - margin) / se)))


def adjust_pvalues(p: Sequence[float], method: str) -> np.ndarray:
    """Holm (family-wise error) or Benjamini-Hochberg (false discovery rate) across a comparison's rows."""
    values = np.asarray(p, dtype=float)
    if method == "none" or len(values) == 0:
        return values
    if method == "bh":
        return stats.false_discovery_control(values, method="bh")
    if method != "holm":
        raise SosbenchError(f"unknown --adjust {method!r}: use {', '.join(ADJUSTMENTS)}")
    order = np.argsort(values)
    scaled = np.minimum(1.0, np.maximum.accumulate(values[order] * (len(values) - np.arange(len(values)))))
    out = np.empty_like(values)
    out[order] = scaled
    return out


def _mde(se: float, alpha: float) -> float:
    """Smallest true difference found with 80% power by a two-sided level-alpha test at this SE."""
    return float((stats.norm.isf(alpha / 2) + stats.norm.ppf(POWER)) * se)


def _ci(values: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


@dataclass(frozen=True)
class JudgeSide:
    """Win rates (0-100) against the judge's baseline of base and candidate, and their joint bootstrap
    rounds."""

    judge: str
    base: float
    candidate: float
    base_rounds: np.ndarray
    cand_rounds: np.ndarray
    battles: int


def judge_side(
    judgments: Path, base: str, candidate: str, baseline: str, rounds: int, seed: int
) -> JudgeSide:
    """One Bradley-Terry fit of the judge's folder; its resamples of battles are shared by both models."""
    from sosbench.judge import OVERALL_CRITERION, build_battles, fit_bradley_terry, read_judgments

    battles = build_battles(read_judgments(judgments), OVERALL_CRITERION, baseline)
    missing = [m for m in (base, candidate) if m not in battles.models]
    if missing:
        raise SosbenchError(f"{judgments}: no judgments of {', '.join(missing)} against {baseline}")
    fit = fit_bradley_terry(
        battles.models, battles.model, battles.opponent, battles.outcome, rounds=rounds, seed=seed
    )
    i, j = battles.models.index(base), battles.models.index(candidate)
    rate = 100.0 / (1.0 + np.exp(-fit.strength))
    boot = 100.0 / (1.0 + np.exp(-fit.boot_strength))
    return JudgeSide(
        judgments.name, float(rate[i]), float(rate[j]), boot[:, i], boot[:, j], len(battles.model)
    )


def compare_runs(
    base: RunItems,
    candidate: RunItems,
    *,
    alpha: float = 0.05,
    adjust: str = "holm",
    margin: float | None = None,
    rounds: int = 2000,
    permutations: int = 5000,
    seed: int = 0,
    judge: JudgeSide | None = None,
    allow_partial: bool = False,
) -> Comparison:
    """Paired differences (candidate - base) per shared benchmark, per factor and Overall, and the judge's."""
    if not 0 < alpha < 1:
        raise SosbenchError(f"--alpha must be between 0 and 1, not {alpha}")
    if margin is not None and margin <= 0:
        raise SosbenchError(f"--equivalence-margin must be positive (points), not {margin}")
    if adjust not in ADJUSTMENTS:
        raise SosbenchError(f"unknown --adjust {adjust!r}: use {', '.join(ADJUSTMENTS)}")
    if rounds < 100:
        raise SosbenchError(f"--bootstrap needs at least 100 rounds for a 95% CI, not {rounds}")
    paired, notes = pair_runs(base, candidate)
    rng = np.random.default_rng(seed)
    margin01 = None if margin is None else margin / 100.0
    rows: list[Row] = []
    joint: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, float, float, int]] = {}
    for p in paired:
        b_rounds, c_rounds = _rounds(p, rng, rounds, paired=True)
        ub, uc = _rounds(p, rng, rounds, paired=False)
        null = _sign_flip_diffs(p, rng, permutations)
        b_score, c_score = _score(p, 0), _score(p, 1)
        diff = c_score - b_score
        lost, gained = _flips(p)
        if _is_binary(p):
            discordant = lost + gained
            test = "exact McNemar"
            p_value = 1.0 if discordant == 0 else float(stats.binomtest(gained, discordant, 0.5).pvalue)
        else:
            test = "paired permutation"
            p_value = _permutation_p(diff, null)
        se = float(np.std(c_rounds - b_rounds, ddof=1))
        n = sum(p.sets.values())
        joint[p.name] = (b_rounds, c_rounds, null, b_score, c_score, n)
        rows.append(
            Row(
                p.name,
                "benchmark",
                p.factor,
                n,
                b_score,
                c_score,
                diff,
                _ci(c_rounds - b_rounds),
                _ci(uc - ub),
                test,
                p_value,
                _mde(se, alpha),
                lost,
                gained,
                None if margin01 is None else _tost_p(diff, se, margin01),
            )
        )
    factor_rounds: dict[str, tuple[list[np.ndarray], float, float, int]] = {}
    for factor in FACTORS:
        members = [b.name for b in benchmarks() if b.factor == factor and b.factor_average]
        present = [m for m in members if m in joint]
        if not present or (len(present) < len(members) and not allow_partial):
            if present:
                notes.append(
                    f"{factor}: {len(members) - len(present)} of {len(members)} benchmarks not in both runs, "
                    "no factor row (--allow-partial)"
                )
            continue
        parts = [joint[m] for m in present]
        stacked = [np.mean(rounds, axis=0) for rounds in zip(*(x[:3] for x in parts), strict=True)]
        b_score, c_score = float(np.mean([x[3] for x in parts])), float(np.mean([x[4] for x in parts]))
        factor_rounds[factor] = (stacked, b_score, c_score, sum(x[5] for x in parts))
    if len(factor_rounds) == len(FACTORS):
        arrays = [np.mean([f[0][k] for f in factor_rounds.values()], axis=0) for k in range(3)]
        factor_rounds[OVERALL] = (
            arrays,
            float(np.mean([f[1] for f in factor_rounds.values()])),
            float(np.mean([f[2] for f in factor_rounds.values()])),
            sum(f[3] for f in factor_rounds.values()),
        )
    for name, ((b_r, c_r, null), b_score, c_score, n) in factor_rounds.items():
        diff = c_score - b_score
        se = float(np.std(c_r - b_r, ddof=1))
        rows.append(
            Row(
                name,
                "factor",
                name,
                n,
                b_score,
                c_score,
                diff,
                _ci(c_r - b_r),
                None,
                "paired permutation",
                _permutation_p(diff, null),
                _mde(se, alpha),
                None,
                None,
                None if margin01 is None else _tost_p(diff, se, margin01),
            )
        )
    if judge is not None:
        d_r = (judge.cand_rounds - judge.base_rounds) / 100.0
        diff = (judge.candidate - judge.base) / 100.0
        se = float(np.std(d_r, ddof=1)) if len(d_r) > 1 else 0.0
        # Normal approximation with the bootstrap SE: percentile tails of a few hundred BT refits are too
        # coarse.
        p_value = float(2 * stats.norm.sf(abs(diff) / se)) if se > 0 else 1.0
        rows.append(
            Row(
                f"judge ({judge.judge})",
                "judge",
                "judge",
                judge.battles,
                judge.base / 100,
                judge.candidate / 100,
                diff,
                _ci(d_r) if len(d_r) else (diff, diff),
                None,
                "bootstrap over battles",
                p_value,
                _mde(se, alpha),
                None,
                None,
                None if margin01 is None else _tost_p(diff, se, margin01),
            )
        )
    rows = _verdicts(rows, alpha, adjust)
    factor_improved = any(r.kind == "factor" and r.verdict == "better" for r in rows)
    judge_better = any(r.kind == "judge" and r.verdict == "better" for r in rows)
    judge_only = judge_better and not factor_improved
    if judge_only:
        notes.append(
            "judge-only gain: the judge calls the candidate better while no SOS-Bench factor improves"
        )
    return Comparison(
        base.model,
        candidate.model,
        tuple(rows),
        alpha,
        adjust,
        margin,
        rounds,
        seed,
        tuple(notes),
        judge_only,
        *_differing_items(paired),
    )


def _verdicts(rows: list[Row], alpha: float, adjust: str) -> list[Row]:
    from dataclasses import replace

    adjusted = adjust_pvalues([r.p for r in rows], adjust)
    tost = [r.p_tost for r in rows]
    tost_adjusted: np.ndarray | list[float] = (
        adjust_pvalues([t for t in tost if t is not None], adjust) if any(t is not None for t in tost) else []
    )
    out, k = [], 0
    for row, p_adj in zip(rows, adjusted, strict=True):
        p_tost_adj = None
        if row.p_tost is not None:
            p_tost_adj = float(tost_adjusted[k])
            k += 1
        if p_adj < alpha:
            verdict = "better" if row.diff > 0 else "worse"
        elif p_tost_adj is not None and p_tost_adj < alpha:
            verdict = "equivalent"
        else:
            verdict = "no detectable change"
        out.append(replace(row, p_adjusted=float(p_adj), p_tost_adjusted=p_tost_adj, verdict=verdict))
    return out


# The per-item view embeds every listed item in one HTML file: a bound keeps a BBQ-size comparison (58K items)
# readable and the file small; the total is always reported.
ITEM_VIEW_LIMIT = 2000


def _differing_items(paired: list[_Paired]) -> tuple[tuple[dict[str, Any], ...], int]:
    """The first ITEM_VIEW_LIMIT items whose score differs between the runs, and how many differ in all."""
    out: list[dict[str, Any]] = []
    total = 0
    for p in paired:
        seen: set[str] = set()
        for item_set, bn, bd, cn, cd in p.components:
            if item_set in seen or item_set not in p.details:
                continue
            seen.add(item_set)
            b_detail, c_detail = p.details[item_set]
            differing = np.flatnonzero(bn / bd != cn / cd)
            total += len(differing)
            for i in differing[: max(0, ITEM_VIEW_LIMIT - len(out))]:
                out.append(
                    {
                        "benchmark": p.name,
                        "item": p.ids[item_set][i],
                        "prompt": b_detail[i].get("prompt") or c_detail[i].get("prompt", ""),
                        "gold": b_detail[i].get("gold") or c_detail[i].get("gold", ""),
                        "base_response": b_detail[i].get("response", ""),
                        "candidate_response": c_detail[i].get("response", ""),
                        "base_score": float(bn[i] / bd[i]),
                        "candidate_score": float(cn[i] / cd[i]),
                    }
                )
    return tuple(out), total


def compare_paths(
    base: Path,
    candidates: Sequence[Path],
    *,
    judgments: Path | None = None,
    baseline: str = "gpt-4-0314",
    **options: Any,
) -> list[Comparison]:
    """Each candidate against the base (one comparison each, p-values adjusted within it)."""
    base_items = read_items(base)
    out = []
    for path in candidates:
        cand = read_items(path)
        side = None
        if judgments is not None:
            side = judge_side(
                judgments,
                base_items.model,
                cand.model,
                baseline,
                options.get("rounds", 2000),
                options.get("seed", 0),
            )
        out.append(compare_runs(base_items, cand, judge=side, **options))
    return out
