"""`sosbench run` end to end through lm-eval with a tiny random model on real sample items.

Covers every kind of benchmark (binary safety classification, SaladBench-style multi-gold choices,
BBQ, WMDP, MMLU-Pro, BBH, MuSR, MATH generation, IFEval generation), the documented output layout,
resume after kill -9, refusing a changed configuration, and the missing-data error.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _tiny_model import CHAT_TEMPLATE

from sosbench.errors import SosbenchError
from sosbench.run import parse_model_args
from sosbench.suite import get_benchmark

EVERY_KIND = ["xstest", "saladbench", "bbq", "wmdp", "mmlu-pro", "bbh", "musr", "math-lvl5", "ifeval"]
LIMIT = 2


def sosbench(
    *args: str, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sosbench.cli", *args],
        capture_output=True,
        check=False,
        text=True,
        timeout=timeout,
        env=env or dict(os.environ),
    )


def run_args(model: Path, mirror: Path, out: Path, benchmarks: list[str], limit: int = LIMIT) -> list[str]:
    return [
        "run",
        "--model",
        "hf",
        "--model-args",
        f"pretrained={model},dtype=float32",
        "--device",
        "cpu",
        "--batch-size",
        "4",
        "--benchmarks",
        ",".join(benchmarks),
        "--limit",
        str(limit),
        "--gen-kwargs",
        "max_gen_toks=8",
        "--data-dir",
        str(mirror),
        "--output",
        str(out),
    ]


@pytest.fixture(scope="module")
def full_run(tiny_model: Path, sample_mirror: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run") / "every-kind"
    result = sosbench(*run_args(tiny_model, sample_mirror, out, EVERY_KIND))
    assert result.returncode == 0, result.stderr[-3000:]
    return out


def _results_value(results: dict, key: str) -> float:
    task, metric = key.split("/", 1)
    return results["results"][task][f"{metric},none"]


@pytest.mark.parametrize("name", EVERY_KIND)
def test_every_benchmark_lands_where_documented(full_run: Path, name: str) -> None:
    bench = get_benchmark(name)
    folder = full_run / name
    done = json.loads((folder / "done.json").read_text())
    manifest = json.loads((full_run / "manifest.json").read_text())
    assert done["benchmark"] == name and done["config_hash"] == manifest["config_hash"]
    results = json.loads((folder / "results.json").read_text())
    for key in bench.result_keys():
        assert 0.0 <= _results_value(results, key) <= 1.0
    assert not any(
        k.startswith("sosbench_") for k in results["results"]
    )  # the mirror wrapper is not reported
    for task in bench.sample_tasks():
        rows = [json.loads(line) for line in (folder / f"samples_{task}.jsonl").read_text().splitlines()]
        assert 1 <= len(rows) <= LIMIT
        for metric in bench.score.metrics:  # type: ignore[union-attr]
            assert all(metric in row for row in rows)
        assert results["n-samples"][task]["effective"] == len(rows)


def test_per_sample_scores_match_the_results(full_run: Path) -> None:
    results = json.loads((full_run / "xstest" / "results.json").read_text())
    rows = [
        json.loads(line)
        for line in (full_run / "xstest" / "samples_sos_xstest.jsonl").read_text().splitlines()
    ]
    assert results["results"]["sos_xstest"]["acc,none"] == pytest.approx(
        sum(r["acc"] for r in rows) / len(rows)
    )
    # Binary safety task: two loglikelihood requests per item, gold is the label's index.
    assert all(len(r["arguments"]) == 2 and r["target"] in (0, 1) for r in rows)


def test_saladbench_multi_gold_counts_any_gold_choice(full_run: Path) -> None:
    rows = [
        json.loads(line)
        for line in (full_run / "saladbench" / "samples_sos_saladbench.jsonl").read_text().splitlines()
    ]
    for row in rows:
        lls = [r[0][0] for r in row["resps"]]
        chosen = max(range(len(lls)), key=lls.__getitem__)
        assert row["acc"] == float(chosen in row["doc"]["answers"])


def test_bbq_group_is_size_weighted(full_run: Path) -> None:
    results = json.loads((full_run / "bbq" / "results.json").read_text())
    subtasks = get_benchmark("bbq").sample_tasks()
    n = {t: results["n-samples"][t]["effective"] for t in subtasks}
    weighted = sum(results["results"][t]["acc,none"] * n[t] for t in subtasks) / sum(n.values())
    assert results["results"]["sos_bbq"]["acc,none"] == pytest.approx(weighted)


def test_generation_tasks_generate(full_run: Path) -> None:
    rows = [
        json.loads(line)
        for line in (full_run / "ifeval" / "samples_leaderboard_ifeval.jsonl").read_text().splitlines()
    ]
    assert all(isinstance(r["resps"][0][0], str) for r in rows)
    assert all(isinstance(r["inst_level_strict_acc"], list) for r in rows)


def test_manifest_records_versions_and_provenance(full_run: Path, tiny_model: Path) -> None:
    manifest = json.loads((full_run / "manifest.json").read_text())
    for key in ("sosbench", "lm_eval", "torch", "transformers"):
        assert manifest[key]
    assert manifest["protocol"] == "paper"
    assert manifest["model_args"] == {"pretrained": str(tiny_model), "dtype": "float32"}
    assert manifest["datasets"]["walledai/BBQ"]["source"] == "mirror"
    assert set(manifest["timings"]) == set(EVERY_KIND)
    assert manifest["finished"] and len(manifest["config_hash"]) == 16


def test_rerun_skips_finished_benchmarks(full_run: Path, tiny_model: Path, sample_mirror: Path) -> None:
    before = {b: (full_run / b / "done.json").read_text() for b in EVERY_KIND}
    started = time.monotonic()
    result = sosbench(*run_args(tiny_model, sample_mirror, full_run, EVERY_KIND))
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 30  # no model is loaded when nothing is left to do
    assert "9 already finished" in result.stderr
    assert {b: (full_run / b / "done.json").read_text() for b in EVERY_KIND} == before


def test_changed_config_refuses_to_mix(full_run: Path, tiny_model: Path, sample_mirror: Path) -> None:
    result = sosbench(*run_args(tiny_model, sample_mirror, full_run, ["xstest"], limit=3))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        (
            f"error: {full_run} holds a run with a different configuration (limit changed): "
            "pass --overwrite to start over there, or choose another --output"
        )
    ]


def test_kill_9_loses_only_the_benchmark_in_flight(
    tiny_model: Path, sample_mirror: Path, tmp_path: Path
) -> None:
    out = tmp_path / "killed"
    names = ["bbq", "wmdp", "xstest"]  # run in suite order: bbq first
    proc = subprocess.Popen(
        [sys.executable, "-m", "sosbench.cli", *run_args(tiny_model, sample_mirror, out, names, limit=8)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    while not (out / "bbq" / "done.json").exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished_bbq = (out / "bbq" / "done.json").read_text()
    assert not (out / "wmdp" / "done.json").exists() or proc.returncode != -signal.SIGKILL

    result = sosbench(*run_args(tiny_model, sample_mirror, out, names, limit=8))
    assert result.returncode == 0, result.stderr[-2000:]
    assert (out / "bbq" / "done.json").read_text() == finished_bbq  # not rerun
    for name in names:
        assert (out / name / "done.json").exists()
    assert not list(out.glob(".*.partial"))
    assert "bbq" in result.stderr.split("already finished")[0] or "1 already finished" in result.stderr


def test_missing_dataset_in_mirror_fails_fast_naming_the_fix(tiny_model: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty-mirror"
    empty.mkdir()
    started = time.monotonic()
    result = sosbench(*run_args(tiny_model, empty, tmp_path / "out", ["xstest"]))
    assert time.monotonic() - started < 10
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"error: benchmark 'xstest' needs dataset walledai/XSTest, which is not in the mirror {empty}: "
        f"run `sosbench data pull --data-dir {empty} --benchmarks xstest`"
    )


@pytest.mark.parametrize("how", ["offline", "unreachable"])
def test_missing_dataset_without_hub_fails_fast(tiny_model: Path, tmp_path: Path, how: str) -> None:
    env = dict(os.environ)
    if how == "unreachable":  # offline switches off, but the hub endpoint cannot be reached
        env.pop("HF_HUB_OFFLINE")
        env.pop("HF_DATASETS_OFFLINE")
        env.pop("TRANSFORMERS_OFFLINE", None)
        env["HF_ENDPOINT"] = "http://127.0.0.1:9"
    args = run_args(tiny_model, tmp_path, tmp_path / "out", ["bbq"])
    args = args[: args.index("--data-dir")] + args[args.index("--output") :]
    started = time.monotonic()
    result = sosbench(*args, env=env)
    assert time.monotonic() - started < 10
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: benchmark 'bbq' needs dataset walledai/BBQ, which is not cached")
    assert "`sosbench data pull --data-dir MIRROR --benchmarks bbq`" in lines[0]


def test_unknown_model_type_is_one_line(tmp_path: Path, sample_mirror: Path) -> None:
    result = sosbench(
        *run_args(tmp_path, sample_mirror, tmp_path / "o", ["xstest"])[:0],
        "run",
        "--model",
        "hff",
        "--data-dir",
        str(sample_mirror),
        "--benchmarks",
        "xstest",
        "--output",
        str(tmp_path / "o"),
    )
    assert result.returncode == 1
    assert result.stderr.strip().startswith("error: unknown --model 'hff': did you mean hf")


@pytest.mark.parametrize("model", ["hf", "sos-hf"])
def test_transformers_models_default_to_the_device_torch_has(
    model: str, tiny_model: Path, tmp_path: Path
) -> None:
    """lm-eval's own default is "cuda", which fails on a CPU-only torch when --device is not given."""
    import torch

    from sosbench.run import RunConfig
    from sosbench.run._lmeval import make_model

    config = RunConfig(
        model=model,
        model_args={"pretrained": str(tiny_model)},
        benchmarks=("xstest",),
        output=tmp_path,
        batch_size="1",
    )
    lm = make_model(config)
    assert lm.device.type == ("cuda" if torch.cuda.is_available() else "cpu")


def test_model_args_both_forms() -> None:
    args = parse_model_args(
        "pretrained=org/m,dtype=bfloat16,trust_remote_code=True,max_length=4096",
        ["chat_template_args={'enable_thinking': false, 'x': [1, 2]}", "revision=a,b=c"],
    )
    assert args == {
        "pretrained": "org/m",
        "dtype": "bfloat16",
        "trust_remote_code": True,
        "max_length": 4096,
        "chat_template_args": {"enable_thinking": False, "x": [1, 2]},
        "revision": "a,b=c",
    }
    with pytest.raises(SosbenchError, match="'dtype' is given twice"):
        parse_model_args("dtype=float32", ["dtype=bfloat16"])
    with pytest.raises(SosbenchError, match="is not key=value"):
        parse_model_args("pretrained", None)


def test_apply_chat_template_wraps_prompts_and_is_recorded(
    tiny_model: Path, sample_mirror: Path, tmp_path: Path
) -> None:
    out = tmp_path / "chat"
    result = sosbench(*run_args(tiny_model, sample_mirror, out, ["xstest"]), "--apply-chat-template")
    assert result.returncode == 0, result.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["apply_chat_template"] is True
    assert manifest["chat_template_sha256"] == hashlib.sha256(CHAT_TEMPLATE.encode()).hexdigest()
    sample = json.loads((out / "xstest" / "samples_sos_xstest.jsonl").read_text().splitlines()[0])
    context = sample["arguments"][0][0]
    assert context.startswith("<|user|>\n") and context.endswith("<|end|>\n<|assistant|>\n")
    assert sample["doc"]["prompt"] in context


def test_generate_backend_needs_sos_hf(tmp_path: Path, sample_mirror: Path) -> None:
    result = sosbench(
        *run_args(tmp_path, sample_mirror, tmp_path / "o", ["xstest"]), "--generate-backend", "vllm"
    )
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        == "error: --generate-backend needs --model sos-hf (other models generate with their own backend)"
    )


def test_livebench_benchmarks_run_through_sosbench_run(
    tiny_model: Path, sample_mirror: Path, tmp_path: Path
) -> None:
    out = tmp_path / "lb"
    result = sosbench(*run_args(tiny_model, sample_mirror, out, ["livebench-reasoning", "livebench-math"]))
    assert result.returncode == 0, result.stderr
    for bench, tasks in {"livebench-reasoning": 2, "livebench-math": 3}.items():
        folder = out / bench
        assert (folder / "done.json").exists()
        answers = [
            json.loads(line)
            for line in (folder / "model_answer" / "tiny-llama.jsonl").read_text().splitlines()
        ]
        scores = [json.loads(line) for line in (folder / "livebench_scores.jsonl").read_text().splitlines()]
        assert len(answers) == len(scores) == tasks * LIMIT
        assert {a["question_id"] for a in answers} == {s["question_id"] for s in scores}
        sample = json.loads(next(folder.glob("samples_livebench_*.jsonl")).read_text().splitlines()[0])
        assert sample["arguments"][0][0].startswith("<|user|>\n")  # LiveBench always uses the chat template
        assert sample["doc"]["turns"][0] in sample["arguments"][0][0]
    scored = sosbench("score", str(out), "--allow-partial", "--format", "json", "--bootstrap", "0")
    assert scored.returncode == 0, scored.stderr
    benches = json.loads(scored.stdout)["models"][0]["benchmarks"]
    assert set(benches) == {"livebench-reasoning", "livebench-math"}
    assert all(0.0 <= b["score"] <= 1.0 for b in benches.values())
