"""Small synthetic sosbench run folders (run-folder contract), with known per-item data.

Every component (subtask metric) gets ``n`` items of which ``ones`` are correct, so its score is
``ones / n`` and a test can compute expected numbers by hand. Task and key names come from the
registry, as `sosbench run` would write them.
"""

from __future__ import annotations

import json
from pathlib import Path

from sosbench.suite import benchmarks

LIVEBENCH_PER_TASK = 4


def _stderr(p: float, n: int) -> float:
    return (p * (1 - p) / (n - 1)) ** 0.5


def component_counts(bench_index: int, comp_index: int) -> tuple[int, int]:
    """(ones, n) of one component: small, distinct, deterministic."""
    n = 10 + 2 * comp_index
    ones = (3 + bench_index + comp_index) % (n - 1) + 1
    return ones, n


def write_run_folder(
    root: Path,
    model: str,
    *,
    skip: tuple[str, ...] = (),
    unfinished: tuple[str, ...] = (),
    with_samples: bool = True,
) -> dict[str, float]:
    """Write a run folder; return the expected raw (not inverted) component-mean score per benchmark."""
    root.mkdir(parents=True, exist_ok=True)
    names = [b.name for b in benchmarks() if b.name not in skip]
    (root / "manifest.json").write_text(
        json.dumps({"schema_version": 1, "protocol": "paper", "model_name": model, "benchmarks": names})
    )
    expected: dict[str, float] = {}
    for bi, bench in enumerate(benchmarks()):
        if bench.name in skip:
            continue
        folder = root / bench.name
        folder.mkdir()
        if bench.livebench is not None:
            expected[bench.name] = _write_livebench(folder, bench, bi)
        elif bench.name == "ifeval":
            expected[bench.name] = _write_ifeval(folder, bench, with_samples)
        else:
            expected[bench.name] = _write_lmeval(folder, bench, bi, with_samples)
        if bench.name not in unfinished:
            (folder / "done.json").write_text(json.dumps({"benchmark": bench.name, "config_hash": "x"}))
    return expected


def write_ranked_run(root: Path, model: str, quality: float) -> None:
    """A run folder (no samples) whose every benchmark scores ``quality`` (0-1, higher is better), so the
    model's SOS-Bench factors and Overall all equal it: a planted ground truth, read by the real scoring
    layer. Inverted benchmarks (wmdp) store ``1 - quality``, as lm-eval reports them."""
    write_run_folder(root, model, with_samples=False)
    for bench in benchmarks():
        folder = root / bench.name
        raw = 1.0 - quality if bench.score is not None and bench.score.invert else quality
        results = folder / "results.json"
        if results.is_file():
            data = json.loads(results.read_text())
            for values in data["results"].values():
                for key in [k for k in values if k.endswith(",none") and "_stderr" not in k]:
                    values[key] = raw
            results.write_text(json.dumps(data))
        scores = folder / "livebench_scores.jsonl"
        if scores.is_file():
            rows = [{**json.loads(line), "score": quality} for line in scores.read_text().splitlines()]
            scores.write_text("".join(json.dumps(r) + "\n" for r in rows))


def _write_samples(path: Path, metric: str, values: list[object]) -> None:
    with path.open("w") as handle:
        for i, v in enumerate(values):
            handle.write(json.dumps({"doc_id": i, metric: v, "metrics": [metric]}) + "\n")


def _write_lmeval(folder: Path, bench, bi: int, with_samples: bool) -> float:
    results, n_samples = {}, {}
    keys = bench.result_keys("paper")
    if bench.score.pool:
        task, metric = keys[0].split("/", 1)
        total_ones = total_n = 0
        for si, sub in enumerate(bench.sample_tasks("paper")):
            ones, n = component_counts(bi, si)
            total_ones, total_n = total_ones + ones, total_n + n
            n_samples[sub] = {"original": n, "effective": n}
            if with_samples:
                _write_samples(folder / f"samples_{sub}.jsonl", metric, [1.0] * ones + [0.0] * (n - ones))
        p = total_ones / total_n
        results[task] = {f"{metric},none": p, f"{metric}_stderr,none": _stderr(p, total_n), "alias": task}
        value = p
    else:
        values = []
        for ci, key in enumerate(keys):
            task, metric = key.split("/", 1)
            ones, n = component_counts(bi, ci)
            p = ones / n
            values.append(p)
            results[task] = {f"{metric},none": p, f"{metric}_stderr,none": _stderr(p, n), "alias": task}
            n_samples[task] = {"original": n, "effective": n}
            if with_samples:
                _write_samples(folder / f"samples_{task}.jsonl", metric, [1.0] * ones + [0.0] * (n - ones))
        value = sum(values) / len(values)
    (folder / "results.json").write_text(
        json.dumps({"results": results, "n-samples": n_samples, "configs": {}})
    )
    return value


def _write_ifeval(folder: Path, bench, with_samples: bool) -> float:
    # 4 prompts; instruction lists of lengths 1, 2, 2, 3.
    strict_inst = [[True], [True, False], [False, False], [True, True, False]]
    loose_inst = [[True], [True, True], [False, True], [True, True, False]]
    rows = []
    for s, lo in zip(strict_inst, loose_inst, strict=True):
        rows.append(
            {
                "prompt_level_strict_acc": all(s),
                "inst_level_strict_acc": s,
                "prompt_level_loose_acc": all(lo),
                "inst_level_loose_acc": lo,
            }
        )
    # hand-computed: prompt strict 1/4, inst strict 4/8, prompt loose 2/4, inst loose 6/8
    values = {
        "prompt_level_strict_acc": 0.25,
        "inst_level_strict_acc": 0.5,
        "prompt_level_loose_acc": 0.5,
        "inst_level_loose_acc": 0.75,
    }
    entry = {"alias": "leaderboard_ifeval"}
    for metric, value in values.items():
        entry[f"{metric},none"] = value
        entry[f"{metric}_stderr,none"] = "N/A" if metric.startswith("inst") else _stderr(value, 4)
    data = {
        "results": {"leaderboard_ifeval": entry},
        "n-samples": {"leaderboard_ifeval": {"original": 4, "effective": 4}},
    }
    (folder / "results.json").write_text(json.dumps(data))
    if with_samples:
        with (folder / "samples_leaderboard_ifeval.jsonl").open("w") as handle:
            for i, row in enumerate(rows):
                handle.write(json.dumps({"doc_id": i, **row}) + "\n")
    return sum(values.values()) / 4


def _write_livebench(folder: Path, bench, bi: int) -> float:
    task_means = []
    with (folder / "livebench_scores.jsonl").open("w") as handle:
        for ti, task in enumerate(bench.livebench.tasks):
            scores = [((bi + ti + q) % 3) / 2 for q in range(LIVEBENCH_PER_TASK)]  # 0, 0.5, 1 pattern
            task_means.append(sum(scores) / len(scores))
            for q, s in enumerate(scores):
                row = {
                    "question_id": f"{task}-{q}",
                    "task": task,
                    "category": bench.livebench.category,
                    "score": s,
                }
                handle.write(json.dumps(row) + "\n")
    return sum(task_means) / len(task_means)


def planted_pair(
    rng,
    names: tuple[str, ...],
    *,
    n: int = 500,
    planted: str | None = None,
    effect_items: int = 25,
    noise: float = 0.03,
    accuracy: float = 0.6,
):
    """Two in-memory runs on the same 0/1 items with positively correlated outcomes and no true change,
    except on ``planted``: ``effect_items`` items both got wrong are made right in the candidate
    (25 of 500 = +5 points exactly).

    Without the plant the pair is exchangeable: an item is discordant with probability ``noise`` and
    then right-to-wrong or wrong-to-right with equal chance, so both runs have the same expected score.
    """
    import numpy as np

    from sosbench.results import BenchmarkResult, Component, Items, ModelResults

    base, cand = ModelResults("base", protocol="paper"), ModelResults("candidate", protocol="paper")
    for name in names:
        before = (rng.random(n) < accuracy).astype(float)
        after = before.copy()
        discordant = rng.random(n) < noise
        direction = (rng.random(n) < 0.5).astype(float)
        before[discordant], after[discordant] = direction[discordant], 1.0 - direction[discordant]
        if name == planted:
            both_wrong = np.flatnonzero((before == 0.0) & (after == 0.0))
            after[rng.choice(both_wrong, effect_items, replace=False)] = 1.0
        ids = tuple(f"x:{i}" for i in range(n))
        for run, values in ((base, before), (cand, after)):
            items = Items(values, ids=ids)
            component = Component("x/acc", "x/acc", items.value, None, n, items, "x")
            run.benchmarks[name] = BenchmarkResult(name, (component,), "synthetic")
    return base, cand


def perturb_run(root: Path, seed: int, share: float = 0.3) -> None:
    """Change about ``share`` of every benchmark's per-item outcomes in a run folder (seeded), so a second
    run differs from the first on every benchmark while answering the same items."""
    import random

    rng = random.Random(seed)

    def flip(value: object) -> object:
        if isinstance(value, list):
            return [flip(v) for v in value]
        if rng.random() >= share:
            return value
        return (not value) if isinstance(value, bool) else 1.0 - float(value)  # type: ignore[arg-type]

    for path in sorted(root.glob("*/samples_*.jsonl")):
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        rows = [{k: v if k in ("doc_id", "metrics") else flip(v) for k, v in row.items()} for row in rows]
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    for path in sorted(root.glob("*/livebench_scores.jsonl")):
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        for row in rows:
            row["score"] = rng.choice([0.0, 0.5, 1.0]) if rng.random() < share else row["score"]
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))


CHOICES = ("red", "blue", "green", "yellow")
GOLD = 1  # "(B) blue"


def as_multiple_choice(path: Path, make_right: int = 0, shots: int = 2) -> list[int]:
    """Rewrite a samples log as lm-eval logs a multiple-choice task (one log-likelihood request per option,
    the gold as an option index, the doc), with a few-shot prefix before each question; the first
    ``make_right`` wrong items become right. Returns the doc ids made right."""
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    metric = rows[0]["metrics"][0]
    prefix = "".join(
        f"Question: Example {k}?\nChoices:\n(A) yes\n(B) no\nAnswer: (A)\n\n" for k in range(shots)
    )
    changed = [row["doc_id"] for row in rows if row[metric] == 0.0][:make_right]
    for row in rows:
        right = row[metric] == 1.0 or row["doc_id"] in changed
        doc = {"Question": f"Which colour is item {row['doc_id']}?", "answer": GOLD}
        options = "".join(f"({'ABCD'[k]}) {c}\n" for k, c in enumerate(CHOICES))
        context = f"{prefix}Question: {doc['Question']}\nChoices:\n{options}Answer:"
        lls = [-9.0] * len(CHOICES)
        lls[GOLD if right else GOLD + 1] = -1.0
        row.update(
            doc=doc,
            target=GOLD,
            arguments=[[context, f" ({'ABCD'[k]})"] for k in range(len(CHOICES))],
            resps=[[[ll, False]] for ll in lls],
            filtered_resps=[[ll, False] for ll in lls],
            **{metric: 1.0 if right else 0.0},
        )
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return changed


def write_judge_bench(root: Path, judge: str, wins: dict[str, list[str]], questions: int = 6) -> Path:
    """An Arena-Hard-Auto bench folder (questions, answers, one judge's judgments) where ``wins[model]``
    lists each question's game-1 verdicts (baseline in A): "B>A" won, "B>>A" won strongly, "A>B" lost.
    Game 2 mirrors game 1. Returns the judge's folder."""
    (root / "model_answer").mkdir(parents=True)
    folder = root / "model_judgment" / judge
    folder.mkdir(parents=True)
    mirror = {"B>A": "A>B", "B>>A": "A>>B", "A>B": "B>A", "A>>B": "B>>A", "A=B": "A=B"}
    prompts = [f"Arena question {q}: explain topic {q}." for q in range(questions)]
    (root / "question.jsonl").write_text(
        "".join(json.dumps({"uid": f"q{q}", "prompt": p}) + "\n" for q, p in enumerate(prompts))
    )
    for model in [*wins, "gpt-4-0314"]:
        answers = [
            {
                "uid": f"q{q}",
                "model": model,
                "messages": [
                    {"role": "user", "content": p},
                    {"role": "assistant", "content": {"answer": f"{model} answers question {q}."}},
                ],
            }
            for q, p in enumerate(prompts)
        ]
        (root / "model_answer" / f"{model}.jsonl").write_text("".join(json.dumps(a) + "\n" for a in answers))
    for model, verdicts in wins.items():
        lines = [
            {"uid": f"q{q}", "model": model, "judge": judge, "games": [{"score": v}, {"score": mirror[v]}]}
            for q, v in enumerate(verdicts)
        ]
        (folder / f"{model}.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    return folder
