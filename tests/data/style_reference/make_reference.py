"""Run the official Arena-Hard-Auto ``show_result.py`` on synthetic judgments; store what it computed.

This script made the ``*.json`` files beside it. It fetches nothing: pass a checkout of each official
commit (``git archive <commit> show_result.py utils.py utils_math.py`` for 3071ef9, ``git archive 196f6b8
show_result.py utils`` for 196f6b8, from github.com/lmarena/arena-hard-auto); every file it runs is
checked against the git blob hashes below before it runs. Run it in a scratch environment with the
official code's dependencies (numpy, pandas, scikit-learn, torch, tqdm, pyyaml, requests), not sosbench's:

    python tests/data/style_reference/make_reference.py --v01 /scratch/official-3071ef9 \\
        --v20 /scratch/official-196f6b8 --out tests/data/style_reference

Each case builds a bench folder with ``tests/_synthetic_judges.py`` and runs the unmodified script as
``__main__`` in a child process, in that folder, with these changes to its surroundings and none to its
code:

* its numpy RNG is seeded from outside: ``np.random.seed(seed)`` right before the script runs (3071ef9's
  ``utils_math`` seeds 42 at import; that import happens first, so the given seed wins);
* ``glob.glob`` returns names sorted: the official code reads judgment files in directory order, which
  depends on the file system, and the battle order decides which battles a bootstrap draw picks;
* library calls are observed, not changed, to keep full precision where the script prints rounded
  numbers: 3071ef9's final globals (``stats``, ``bt_model_coef``, ``bootstrap_model_coef``,
  ``style_coef``); for 196f6b8 the frames passed to ``pandas.merge`` (score, lower, upper), the
  bootstrap coefficients returned by ``bootstrap_pairwise_model``, and, on the same features and
  outcomes, one more call of the official ``fit_pairwise_model`` on the full data (the 50-step LBFGS
  fit that ``--rounds 0`` reproduces; the official script itself only fits bootstrap resamples).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import platform
import runpy
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # tests/, for _synthetic_judges

import _synthetic_judges as synth  # noqa: E402

COMMITS = {
    "v01": (
        "3071ef95d913bb5cd632641db336a3b6c7fe4bdd",
        {
            "show_result.py": "21c5eb95f206934e67706cd0aa569a68b39d6f7f",
            "utils_math.py": "8d2c7aa46666b4353052b5e75676ab2be18448a3",
            "utils.py": "8bc7c406fcfe732999b40ae38229578ec785d604",
        },
    ),
    "v20": (
        "196f6b826783b3da7310e361a805fa36f0be83f3",
        {
            "show_result.py": "aa9f2a2bcb28e7ce82496dc9bfca412a1ff2e386",
            "utils/math_utils.py": "ed1f94188bf8de3c76cc94f4540183bc1a66b862",
            "utils/judge_utils.py": "21de9f77b5ae8f7d6d2fe31715235eb59570cdb6",
        },
    ),
}
V01_FLAGS = {
    "none": [],
    "both": ["--style-control"],
    "length": ["--length-control-only"],
    "markdown": ["--markdown-control-only"],
}
V20_FLAGS = {
    "none": [],
    "both": ["-f", "length", "markdown"],
    "length": ["-f", "length"],
    "markdown": ["-f", "markdown"],
}
# (layout, bench seed, verdicts, style flags, bootstrap seeds)
CASES = [
    ("v01", 101, "graded", ("none", "both", "length", "markdown"), (42,)),
    ("v01", 102, "graded", ("none", "both"), (42, 7)),
    ("v01", 103, "binary", ("both",), (42,)),
    ("v20", 201, "graded", ("none", "both", "length", "markdown"), (42,)),
    ("v20", 202, "graded", ("none", "both"), (42, 7)),
    ("v20", 203, "binary", ("both",), (42,)),
]


def rounded(value: object) -> object:
    """Floats to 6 decimals (far below every tolerance), so the stored files stay small."""
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v) for v in value]
    return value


def blob_sha(path: Path) -> str:
    data = path.read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def check_checkout(layout: str, root: Path) -> None:
    commit, blobs = COMMITS[layout]
    for name, expected in blobs.items():
        found = blob_sha(root / name)
        if found != expected:
            raise SystemExit(f"{root / name}: blob {found}, not {expected} of commit {commit}")


def folder_sha256(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*.jsonl") if "arena_hard_battles" not in p.name):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


# ------------------------------------------------------------------------------------------------ child side
def _to_list(x: object) -> object:
    import numpy as np

    if hasattr(x, "detach"):
        x = x.detach().double().numpy()  # type: ignore[union-attr]
    return np.asarray(x, dtype=float).tolist()


def child_v01(official: Path, bench: Path, flags: list[str], seed: int) -> dict:
    import numpy as np

    sys.path.insert(0, str(official))
    import utils_math  # seeds 42 at import; the seed below replaces it

    fits: list = []
    fit_bt = utils_math.fit_bt

    def record_fit(*a, **k):  # type: ignore[no-untyped-def]
        elo, coef = fit_bt(*a, **k)
        fits.append(coef)
        return elo, coef

    utils_math.fit_bt = record_fit
    np.random.seed(seed)
    argv = [
        "show_result.py",
        "--bench-name",
        "bench",
        "--judge-name",
        synth.JUDGE,
        "--baseline",
        synth.V01_BASELINE,
    ]
    sys.argv = [*argv, "--num-rounds", "100", *flags]
    g = runpy.run_path(str(official / "show_result.py"), run_name="__main__")
    stats = g["stats"].set_index("model")
    elo, boot = g["bt_model_coef"], g["bootstrap_model_coef"]
    base = synth.V01_BASELINE
    ln10 = float(np.log(10.0))
    out = {
        "argv": sys.argv[1:],
        "models": {
            m: {
                "score": float(stats.at[m, "score"]),
                "lower": float(stats.at[m, "lower"]),
                "upper": float(stats.at[m, "upper"]),
            }
            for m in stats.index
        },
        # full precision: win rate against the baseline from the Elo fit, and per bootstrap round
        "full_fit": {m: 100.0 / (1.0 + np.exp(-ln10 * (elo[m] - elo[base]) / 400.0)) for m in elo.index},
        "rounds": {
            m: (100.0 / (1.0 + np.exp(-ln10 * (boot[m] - boot[base]) / 400.0))).tolist() for m in boot.columns
        },
    }
    if fits:  # the full-data fit, then one per bootstrap round
        out["style_coef"] = _to_list(fits[0])
        out["style_coef_rounds"] = _to_list(np.array(fits[1:]))
    return out


def child_v20(official: Path, bench: Path, flags: list[str], seed: int) -> dict:
    import numpy as np
    import pandas as pd

    sys.path.insert(0, str(official))
    import utils.math_utils as mu

    seen: dict = {"frames": [], "boot": None, "full": None, "probs": None}
    merge, frame_merge, boot, towin = (
        pd.merge,
        pd.DataFrame.merge,
        mu.bootstrap_pairwise_model,
        mu.to_winrate_probabilities,
    )

    def record_merge(left, right, *a, **k):  # type: ignore[no-untyped-def]
        seen["frames"] += [left, right]
        return merge(left, right, *a, **k)

    def record_frame_merge(self, right, *a, **k):  # type: ignore[no-untyped-def]
        seen["frames"].append(right)
        return frame_merge(self, right, *a, **k)

    def record_boot(features, outcomes, *a, **k):  # type: ignore[no-untyped-def]
        coefs, eta = boot(features, outcomes, *a, **k)
        seen["boot"] = coefs
        seen["full"] = mu.fit_pairwise_model(features, outcomes, "bt")[0]
        seen["n_units"] = int(features.shape[0])
        return coefs, eta

    def record_towin(coefs, models, *a, **k):  # type: ignore[no-untyped-def]
        probs = towin(coefs, models, *a, **k)
        if seen["probs"] is None:
            seen["probs"] = (list(models), probs)
        else:
            seen["full_probs"] = (list(models), probs)
        return probs

    pd.merge, pd.DataFrame.merge = record_merge, record_frame_merge
    mu.bootstrap_pairwise_model, mu.to_winrate_probabilities = record_boot, record_towin
    np.random.seed(seed)
    sys.argv = ["show_result.py", "-b", "bench", "-j", synth.JUDGE, "-c", "hard_prompt", *flags]
    runpy.run_path(str(official / "show_result.py"), run_name="__main__")
    values: dict[str, dict[str, float]] = {}
    for frame in seen["frames"]:
        for column in ("scores", "lower", "upper"):
            if column in frame.columns:
                for m, v in zip(frame["model"], frame[column], strict=True):
                    values.setdefault(m, {})["score" if column == "scores" else column] = 100.0 * float(v)
    out: dict = {"argv": sys.argv[1:], "models": values}
    if seen["boot"] is not None:
        models, probs = seen["probs"]
        k = seen["boot"].shape[1] - len(models)
        out["rounds"] = {m: (100.0 * probs[:, i].double()).tolist() for i, m in enumerate(models)}
        out["style_coef_rounds"] = _to_list(seen["boot"][:, len(models) :])
        out["style_coef"] = _to_list(seen["boot"][:, len(models) :].quantile(0.5, dim=0)) if k else []
        full = seen["full"]
        b = models.index(synth.V20_BASELINE)
        out["full_fit_50_step"] = {
            m: float(100.0 * np.exp(float(full[i])) / (np.exp(float(full[i])) + np.exp(float(full[b]))))
            for i, m in enumerate(models)
        }
        out["full_fit_style_coef"] = _to_list(full[len(models) :])
        out["n_units"] = seen["n_units"]
    return out


def child(layout: str, official: str, bench: str, style: str, seed: int) -> None:
    import glob

    unsorted = glob.glob
    glob.glob = lambda *a, **k: sorted(unsorted(*a, **k))  # type: ignore[assignment]
    os.chdir(bench)
    flags = (V01_FLAGS if layout == "v01" else V20_FLAGS)[style]
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            result = (child_v01 if layout == "v01" else child_v20)(Path(official), Path(bench), flags, seed)
    except Exception as exc:  # noqa: BLE001 - an official defect is a result too
        last = traceback.extract_tb(exc.__traceback__)[-1]
        result = {"error": f"{type(exc).__name__}: {exc}", "at": f"{Path(last.filename).name}:{last.lineno}"}
    result["stdout_tail"] = printed.getvalue()[-3000:]
    json.dump(result, sys.stdout)


# ----------------------------------------------------------------------------------------------- parent side
def versions() -> dict:
    code = (
        "import json, numpy, pandas, sklearn, torch\n"
        "print(json.dumps({m.__name__: m.__version__ for m in (numpy, pandas, sklearn, torch)}))"
    )
    found = json.loads(
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    )
    return {"python": platform.python_version(), **found}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--v01", type=Path, required=True, help="checkout of arena-hard-auto 3071ef9")
    parser.add_argument("--v20", type=Path, required=True, help="checkout of arena-hard-auto 196f6b8")
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args()
    for layout in COMMITS:
        check_checkout(layout, getattr(args, layout))
    env = versions()
    for layout, bench_seed, verdicts, styles, seeds in CASES:
        plan = synth.default_plan(bench_seed, verdicts=verdicts)
        with tempfile.TemporaryDirectory() as tmp:
            bench = Path(tmp) / "data" / "bench"
            (synth.write_v01 if layout == "v01" else synth.write_v20)(plan, bench)
            digest = folder_sha256(bench)
            runs = {}
            for style in styles:
                for seed in seeds:
                    done = subprocess.run(
                        [
                            sys.executable,
                            __file__,
                            "--child",
                            layout,
                            str(getattr(args, layout)),
                            tmp,
                            style,
                            str(seed),
                        ],
                        capture_output=True,
                        text=True,
                        check=True,
                    )
                    runs[f"{style}/seed{seed}"] = json.loads(done.stdout)
                    failed = "error" in runs[f"{style}/seed{seed}"]
                    print(f"{layout} bench {bench_seed} {style} seed {seed}: {'error' if failed else 'ok'}")
        commit, blobs = COMMITS[layout]
        record = {
            "made_by": "tests/data/style_reference/make_reference.py",
            "official_commit": commit,
            "official_files": blobs,
            "environment": env,
            "layout": layout,
            "plan": {"seed": bench_seed, "verdicts": verdicts},
            "inputs_sha256": digest,
            "runs": runs,
        }
        path = args.out / f"{layout}_bench{bench_seed}.json"
        path.write_text(json.dumps(rounded(record), indent=1) + "\n", encoding="utf-8")
        print(f"wrote {path}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6]))
    else:
        main()
