"""Check `--protocol paper` against the paper-era lm-eval itself on the six leaderboard benchmarks.

The paper ran lm-eval at 74d23a67 (2024-07-22). The nearest release on PyPI is lm-eval 0.4.3 (July 2024),
which predates the leaderboard tasks, so the paper-era side is lm-eval 0.4.3 running the 74d23a67 task
files (../shared/data/protocol/leaderboard_74d23a67) from an include path, in its own virtual environment
(built on first use under ~/.cache/sosbench/, or --env). The sosbench side is the installed lm-eval
(0.4.13) running what `sosbench run --protocol paper --data-dir` runs. Both render every sample item
(../shared/data/samples, as a `sosbench data pull` mirror) and score the same fixed responses
(benchmarks/_leaderboard_render.py); every request string, gold target, per-item metric and aggregate
must be equal. As a control, lm-eval 0.4.13's own BBH and MATH-hard tasks are compared the same way (the
report counts their differences).

    .venv/bin/python benchmarks/leaderboard_fidelity.py [--env DIR] [--json report.json]

Exit status: 0 zero differences, 1 differences, 2 the lm-eval 0.4.3 environment could not be built.
Stand-ins forced by the samples (no invented items): GPQA is gated and has no sample, so its rows are
real MMLU-Pro sample questions in GPQA's schema (correct option + three others); the paper's MATH dataset
(lighteval/MATH-Hard, MATH's Level 5 test items) is the Level 5 rows of the MATH-lighteval sample;
MMLU-Pro's 40 sample items are split into 30 test and 10 few-shot items (see build_mirror).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import venv
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("SOSBENCH_SHARED", REPO.parent / "shared")).resolve() / "data"
REFERENCE = SHARED_DATA / "protocol" / "leaderboard_74d23a67"
RENDER = Path(__file__).with_name("_leaderboard_render.py")
DEFAULT_ENV = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "sosbench" / "lm-eval-0.4.3"
# lm-eval 0.4.3 and its task extras; torch, sympy, antlr and nltk pinned to the versions sosbench's
# environment has, so that only lm-eval and the task files differ between the two sides; transformers,
# datasets, pyarrow, pandas, peft and accelerate at July-2024 releases that lm-eval 0.4.3 imports cleanly.
REQUIREMENTS = (
    "lm-eval[ifeval,math]==0.4.3",
    "torch==2.13.0",
    "transformers==4.43.4",
    "datasets==2.20.0",
    "numpy<2",
    "pyarrow==17.0.0",
    "pandas==2.2.2",
    "sympy==1.14.0",
    "antlr4-python3-runtime==4.11.0",
    "nltk==3.10.4",
    "peft==0.12.0",
    "accelerate==0.33.0",
)
# Benchmark -> the 74d23a67 group the paper ran, and the hub dataset its definition reads.
PAPER_ERA = {
    "ifeval": ("leaderboard_ifeval", "wis-k/instruction-following-eval"),
    "bbh": ("leaderboard_bbh", "SaylorTwift/bbh"),
    "gpqa": ("leaderboard_gpqa", "Idavidrein/gpqa"),
    "math-lvl5": ("leaderboard_math_hard", "lighteval/MATH-Hard"),
    "mmlu-pro": ("leaderboard_mmlu_pro", "TIGER-Lab/MMLU-Pro"),
    "musr": ("leaderboard_musr", "TAUR-Lab/MuSR"),
}
CONTROL = {"bbh": "leaderboard_bbh", "math-lvl5": "leaderboard_math_hard"}  # lm-eval 0.4.13's own tasks


class EnvUnavailable(RuntimeError):
    """The lm-eval 0.4.3 environment cannot be built here (no PyPI, no wheel for this Python, ...)."""


def ensure_env(env: Path) -> Path:
    """The Python of an environment with lm-eval 0.4.3, built once (a marker file says it is complete)."""
    python, marker = env / "bin" / "python", env / "sosbench-requirements.txt"
    wanted = "\n".join(REQUIREMENTS) + "\n"
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        return python
    try:
        venv.create(env, with_pip=True, clear=True)
        done = subprocess.run(
            [str(python), "-m", "pip", "install", "-q", *REQUIREMENTS],
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError as exc:
        raise EnvUnavailable(f"cannot create {env}: {exc}") from exc
    if done.returncode != 0:
        raise EnvUnavailable(f"pip install lm-eval==0.4.3 failed: {done.stderr.strip().splitlines()[-1:]}")
    marker.write_text(wanted)
    return python


def _rows(name: str) -> list[dict[str, Any]]:
    path = SHARED_DATA / "samples" / name
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def build_mirror(target: Path) -> Path:
    """The tests' sample mirror plus the two stand-ins named in the module docstring."""
    import datasets

    sys.path.insert(0, str(REPO / "tests"))
    from _sample_mirror import build_sample_mirror  # the mirror tests/tasks/test_tasks.py builds

    from sosbench.run import add_dataset

    build_sample_mirror(SHARED_DATA, target)
    samples = SHARED_DATA / "samples"
    # MMLU-Pro's few-shot split is not in the samples: the tests' stand-in reuses the last 10 test items,
    # and a shot equal to the item itself is dropped by 0.4.3 but not by 0.4.13, which real (disjoint)
    # splits never meet. Here the two are disjoint: 30 test items, 10 few-shot items.
    mmlu = datasets.Dataset.from_list(_rows("mmlu_pro.jsonl"))
    add_dataset(
        target,
        "TIGER-Lab/MMLU-Pro",
        {(None, "test"): mmlu.select(range(30)), (None, "validation"): mmlu.select(range(30, 40))},
        revision=None,
        source="stand-in: disjoint split of the sample",
    )
    gpqa = []
    for row in _rows("mmlu_pro.jsonl"):
        others = [o for i, o in enumerate(row["options"]) if i != row["answer_index"]][:3]
        gpqa.append(
            {
                "Question": row["question"],
                "Correct Answer": row["options"][row["answer_index"]],
                **{f"Incorrect Answer {i + 1}": o for i, o in enumerate(others)},
            }
        )
    table = datasets.Dataset.from_list(gpqa)
    configs = ("gpqa_diamond", "gpqa_extended", "gpqa_main")
    add_dataset(
        target, "Idavidrein/gpqa", {(c, "train"): table for c in configs}, revision=None, source="stand-in"
    )
    subjects = sorted(p.stem for p in (samples / "math_hard").glob("*.jsonl"))
    level5 = {
        (s, "test"): datasets.Dataset.from_list(
            [r for r in _rows(f"math_hard/{s}.jsonl") if r["level"] == "Level 5"]
        )
        for s in subjects
    }
    add_dataset(target, "lighteval/MATH-Hard", level5, revision=None, source="stand-in: Level 5 rows")
    return target


def plain_copy(mirror: Path, target: Path) -> Path:
    """The mirror without `datasets`' feature metadata in its Parquet files, for datasets 2.20.

    datasets 5 records feature types (`List`) that datasets 2.20 cannot read; without the record it
    infers the features from the Arrow schema, so the rows it yields are the same.
    """
    import pyarrow.parquet as pq

    shutil.copytree(mirror, target)
    for path in target.rglob("*.parquet"):
        table = pq.read_table(path)
        pq.write_table(table.replace_schema_metadata(None), path)
    return target


def punkt_data(target: Path) -> Path:
    """An NLTK data folder for IFEval offline: punkt_tab, and `punkt` naming the same folder.

    74d23a67's IFEval checks for `tokenizers/punkt` and downloads it when missing; NLTK >= 3.9 (both
    sides) only reads punkt_tab, so the `punkt` entry exists only to keep that check off the network.
    """
    from sosbench.livebench import ensure_punkt_tab

    ensure_punkt_tab(target)
    (target / "tokenizers" / "punkt").symlink_to("punkt_tab")
    return target


def run_render(python: Path, spec: dict[str, Any], work: Path, label: str, nltk_data: Path) -> dict[str, Any]:
    (work / f"{label}.spec.json").write_text(json.dumps(spec))
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "NLTK_DATA": str(nltk_data),
        "HF_DATASETS_CACHE": str(work / f"{label}-cache"),
        "TOKENIZERS_PARALLELISM": "false",
    }
    out = work / f"{label}.json"
    done = subprocess.run(
        [str(python), str(RENDER), str(work / f"{label}.spec.json"), str(out)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{label} render failed:\n{done.stderr[-4000:]}")
    return json.loads(out.read_text())


def compare(reference: dict[str, Any], ours: dict[str, Any]) -> tuple[dict[str, int], list[str]]:
    """Counts of what was compared, and one line per difference (reference task names)."""
    counts = {"tasks": 0, "items": 0, "requests": 0, "scores": 0, "aggregates": 0}
    diffs: list[str] = []
    for name, ref in sorted(reference.items()):
        mine = ours.get(f"sos_{name}", ours.get(name))
        if mine is None:
            diffs.append(f"{name}: missing")
            continue
        counts["tasks"] += 1
        counts["items"] += len(ref["docs"])
        counts["requests"] += sum(len(d["requests"]) for d in ref["docs"])
        counts["scores"] += sum(len(v) for metrics in ref["scores"].values() for v in metrics.values())
        counts["aggregates"] += sum(len(m) for m in ref["aggregates"].values())
        for a, b in zip(ref["docs"], mine["docs"], strict=True):
            if a != b:
                diffs.append(f"{name} doc {a['doc_id']}: request or target differs")
        if len(ref["docs"]) != len(mine["docs"]):
            diffs.append(f"{name}: {len(ref['docs'])} items vs {len(mine['docs'])}")
        for response, metrics in ref["scores"].items():
            for metric, values in metrics.items():
                other = mine["scores"].get(response, {}).get(metric)
                if other != values:
                    n = sum(x != y for x, y in zip(values, other or [], strict=False))
                    diffs.append(f"{name} {response}/{metric}: {n or 'all'} items score differently")
        if ref["aggregates"] != {
            k: {m: v for m, v in mine["aggregates"].get(k, {}).items() if m in ref["aggregates"][k]}
            for k in ref["aggregates"]
        }:
            diffs.append(f"{name}: aggregates differ")
    return counts, diffs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", type=Path, default=DEFAULT_ENV, help="lm-eval 0.4.3 virtual environment")
    parser.add_argument("--json", type=Path, help="also write the report here")
    args = parser.parse_args(argv)
    os.environ.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")

    from sosbench.run import repo_folder
    from sosbench.run._lmeval import task_overrides
    from sosbench.suite import get_benchmark
    from sosbench.tasks import definitions_dir

    try:
        old_python = ensure_env(args.env)
    except EnvUnavailable as exc:
        print(f"skipped: {exc}")
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        mirror = build_mirror(work / "mirror")
        old_mirror = plain_copy(mirror, work / "mirror-datasets-2.20")
        nltk_data = punkt_data(work / "nltk_data")
        reference = {
            "include": [str(REFERENCE)],
            "include_defaults": False,
            "benchmarks": {
                b: {"tasks": [group], "dataset_path": str(repo_folder(old_mirror, ds))}
                for b, (group, ds) in PAPER_ERA.items()
            },
        }
        ours = {
            "include": [str(definitions_dir())],
            "include_defaults": True,
            "benchmarks": {
                b: {
                    "tasks": list(get_benchmark(b).lm_eval_tasks("paper")),
                    "dataset_path": task_overrides(get_benchmark(b), mirror)["dataset_path"],
                }
                for b in PAPER_ERA
            },
        }
        control = {
            "include": [],
            "include_defaults": True,
            "benchmarks": {
                b: {"tasks": [t], "dataset_path": ours["benchmarks"][b]["dataset_path"]}
                for b, t in CONTROL.items()
            },
        }
        paper_era = run_render(old_python, reference, work, "lm-eval-0.4.3", nltk_data)
        sosbench = run_render(Path(sys.executable), ours, work, "sosbench", nltk_data)
        builtin = run_render(Path(sys.executable), control, work, "lm-eval-0.4.13-builtin", nltk_data)
    report: dict[str, Any] = {}
    for bench in PAPER_ERA:
        counts, diffs = compare(paper_era[bench], sosbench[bench])
        report[bench] = {**counts, "differences": diffs}
        if bench in CONTROL:
            _, control_diffs = compare(paper_era[bench], builtin[bench])
            report[bench]["control_lm_eval_0_4_13_differences"] = len(control_diffs)
    total = sum(len(r["differences"]) for r in report.values())
    for bench, r in report.items():
        extra = (
            f", control (lm-eval 0.4.13 built-in) differences: {r['control_lm_eval_0_4_13_differences']}"
            if bench in CONTROL
            else ""
        )
        print(
            f"{bench}: {r['tasks']} tasks, {r['items']} items, {r['requests']} requests, "
            f"{r['scores']} item scores, "
            f"{r['aggregates']} aggregates compared; differences: {len(r['differences'])}{extra}"
        )
        for line in r["differences"][:20]:
            print(f"  {line}")
    print(f"total differences: {total}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
