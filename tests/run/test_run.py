"""`sosbench run` end to end through lm-eval with a tiny random model on real sample items.

Covers every kind of benchmark (binary safety classification, SaladBench-style multi-gold choices,
BBQ, WMDP, MMLU-Pro, BBH, MuSR, MATH generation, IFEval generation), the documented output layout,
resume after kill -9, refusing a changed configuration, and the missing-data error.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import signal
import subprocess
import time
from pathlib import Path

import pytest
from _cli import LIMIT, run_args, sosbench, sosbench_command, sosbench_in_process
from _synthetic_runs import write_run_folder
from _tiny_model import CHAT_TEMPLATE

from sosbench.errors import SosbenchError
from sosbench.run import parse_model_args
from sosbench.suite import benchmarks, get_benchmark

EVERY_KIND = ["xstest", "saladbench", "bbq", "wmdp", "mmlu-pro", "bbh", "musr", "math-lvl5", "ifeval"]
UNKNOWN_HFF = "error: unknown --model 'hff': did you mean hf?"


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


def test_rerun_skips_finished_benchmarks(
    full_run: Path, tiny_model: Path, sample_mirror: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In process, with model loading made to fail: nothing left to do loads no model at all."""
    from typer.testing import CliRunner

    from sosbench.cli import app
    from sosbench.run import _lmeval

    def no_model(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a model was loaded although every benchmark had finished")

    monkeypatch.setattr(_lmeval, "make_model", no_model)
    before = {b: (full_run / b / "done.json").read_text() for b in EVERY_KIND}
    result = CliRunner().invoke(app, run_args(tiny_model, sample_mirror, full_run, EVERY_KIND))
    assert result.exit_code == 0, (result.output, result.exception)
    assert "9 already finished" in result.output
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
        sosbench_command(*run_args(tiny_model, sample_mirror, out, names, limit=8)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    while not (out / "bbq" / "done.json").exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished_bbq = (out / "bbq" / "done.json").read_text()
    assert proc.returncode == -signal.SIGKILL, "the run ended before it was killed"
    assert not (out / "wmdp" / "done.json").exists()  # in flight when killed

    result = sosbench(*run_args(tiny_model, sample_mirror, out, names, limit=8))
    assert result.returncode == 0, result.stderr[-2000:]
    assert (out / "bbq" / "done.json").read_text() == finished_bbq  # not rerun
    for name in names:
        assert (out / name / "done.json").exists()
    assert not list(out.glob(".*.partial"))
    assert "1 already finished (skipped): bbq" in result.stderr


def not_a_model(tmp_path: Path) -> Path:
    """An existing folder with no weights: a run that tried to load it would fail with a model error."""
    folder = tmp_path / "not-a-model"
    folder.mkdir()
    return folder


def test_missing_dataset_in_mirror_fails_fast_naming_the_fix(tmp_path: Path) -> None:
    """Fails before loading the model: the model folder is empty, and the error is still the dataset's."""
    empty = tmp_path / "empty-mirror"
    empty.mkdir()
    result = sosbench_in_process(*run_args(not_a_model(tmp_path), empty, tmp_path / "out", ["xstest"]))
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"error: benchmark 'xstest' needs dataset walledai/XSTest, which is not in the mirror {empty}: "
        f"run `sosbench data pull --data-dir {empty} --benchmarks xstest`"
    )


@pytest.mark.parametrize("how", ["offline", "unreachable"])
def test_missing_dataset_without_hub_fails_fast(tmp_path: Path, how: str) -> None:
    args = run_args(not_a_model(tmp_path), tmp_path, tmp_path / "out", ["bbq"])
    args = args[: args.index("--data-dir")] + args[args.index("--output") :]
    # the model folder is empty: the data check comes before any loading
    if how == "offline":
        result = sosbench_in_process(*args)
    else:  # offline switches off, but the hub endpoint cannot be reached: the hub libraries read these
        env = dict(os.environ)  # variables when imported, so this takes a fresh interpreter
        env.pop("HF_HUB_OFFLINE")
        env.pop("HF_DATASETS_OFFLINE")
        env.pop("TRANSFORMERS_OFFLINE", None)
        env["HF_ENDPOINT"] = "http://127.0.0.1:9"
        result = sosbench(*args, env=env)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: benchmark 'bbq' needs dataset walledai/BBQ, which is not cached")
    assert "`sosbench data pull --data-dir MIRROR --benchmarks bbq`" in lines[0]


def test_unknown_model_type_is_one_line(tmp_path: Path, sample_mirror: Path) -> None:
    args = run_args(tmp_path, sample_mirror, tmp_path / "o", ["xstest"])
    args[args.index("--model") + 1] = "hff"
    result = sosbench_in_process(*args)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [UNKNOWN_HFF]
    assert not (tmp_path / "o" / "xstest").exists()  # nothing ran
    assert not (tmp_path / "o" / "manifest.json").exists()  # the preflight refused it before the run began


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
    result = sosbench_in_process(
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


def test_config_hash_is_unchanged_by_the_read_only_config(tmp_path: Path) -> None:
    """Hash computed before model_args became read-only: old run folders still resume."""
    from sosbench.run import RunConfig

    args = {
        "pretrained": "x/y",
        "dtype": "float32",
        "chat_template_args": {"enable_thinking": False, "l": [1, 2]},
    }
    config = RunConfig(model="hf", model_args=args, benchmarks=("xstest",), output=tmp_path, limit=2,
                       gen_kwargs="max_gen_toks=8", apply_chat_template=True)  # fmt: skip
    assert config.config_hash("0.4.9") == "2e0829b0d54f6b53"
    assert config.hashed()["model_args"] == args
    with pytest.raises(TypeError):
        config.model_args["dtype"] = "bfloat16"  # type: ignore[index]
    with pytest.raises(TypeError):
        config.model_args["chat_template_args"]["enable_thinking"] = True
    args["dtype"] = "bfloat16"  # the caller's dict is copied, not shared
    assert config.model_args["dtype"] == "float32"
    assert pickle.loads(pickle.dumps(config)) == config  # Ray and process workers receive it pickled


def _old_run(output: Path) -> list[Path]:
    """A finished run of another configuration in ``output``; returns its finished benchmarks' markers."""
    write_run_folder(
        output, "old-model", skip=tuple(b.name for b in benchmarks() if b.name not in ("bbq", "wmdp"))
    )
    return [output / "bbq" / "done.json", output / "wmdp" / "done.json"]


def test_plan_with_overwrite_deletes_nothing(tiny_model: Path, tmp_path: Path) -> None:
    from sosbench.run import RunConfig, plan

    out = tmp_path / "out"
    markers = _old_run(out)
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    config = RunConfig(
        model="hf", model_args={"pretrained": str(tiny_model)}, benchmarks=("bbq",), output=out
    )
    with pytest.raises(SosbenchError, match="pass --overwrite"):
        plan(config)
    the_plan = plan(config, overwrite=True)
    assert the_plan.clear and not the_plan.done and [b.name for b in the_plan.todo] == ["bbq"]
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before
    assert all(m.exists() for m in markers)


def test_overwrite_replaces_the_old_run_and_touches_nothing_else(
    tiny_model: Path, sample_mirror: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    markers = _old_run(out)
    notes = out / "notes.txt"  # not written by sosbench: kept
    notes.write_text("mine")
    outside = tmp_path / "outside" / "done.json"
    outside.parent.mkdir()
    outside.write_text("{}")
    refused = sosbench(*run_args(tiny_model, sample_mirror, out, ["xstest"]))
    assert refused.returncode == 1 and "pass --overwrite" in refused.stderr
    assert all(m.exists() for m in markers)

    result = sosbench(*run_args(tiny_model, sample_mirror, out, ["xstest"]), "--overwrite")
    assert result.returncode == 0, result.stderr[-2000:]
    assert not any(m.exists() for m in markers)
    assert not (out / "bbq").exists() and not (out / "wmdp").exists()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["benchmarks"] == ["xstest"] and manifest["model_args"]["pretrained"] == str(tiny_model)
    assert json.loads((out / "xstest" / "done.json").read_text())["config_hash"] == manifest["config_hash"]
    assert notes.read_text() == "mine" and outside.read_text() == "{}"


def test_corrected_protocol_runs_the_corrected_tasks_and_scores_them(
    tiny_model: Path, sample_mirror: Path, tmp_path: Path
) -> None:
    out = tmp_path / "corrected"
    result = sosbench(*run_args(tiny_model, sample_mirror, out, ["dttoxicity"]), "--protocol", "corrected")
    assert result.returncode == 0, result.stderr[-2000:]
    results = json.loads((out / "dttoxicity" / "results.json").read_text())
    assert set(results["results"]) == {"sos_dttoxicity_corrected"}
    assert json.loads((out / "manifest.json").read_text())["protocol"] == "corrected"
    scored = sosbench("score", str(out), "--allow-partial", "--format", "json", "--bootstrap", "0")
    assert scored.returncode == 0, scored.stderr
    bench = json.loads(scored.stdout)["models"][0]["benchmarks"]["dttoxicity"]
    acc = _results_value(results, "sos_dttoxicity_corrected/acc")
    assert bench["score"] == pytest.approx(acc) or bench["score"] == pytest.approx(1 - acc)


def test_wandb_args_log_to_an_offline_wandb_run(
    tiny_model: Path, sample_mirror: Path, tmp_path: Path
) -> None:
    pytest.importorskip("wandb")
    env = {**os.environ, "WANDB_MODE": "offline", "WANDB_DIR": str(tmp_path), "WANDB_SILENT": "true"}
    out = tmp_path / "wb"
    result = sosbench(*run_args(tiny_model, sample_mirror, out, ["xstest"]), "--wandb-args",
                      f"project=sosbench-test,dir={tmp_path}", env=env)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    (run,) = (tmp_path / "wandb").glob("offline-run-*")
    assert list(run.glob("*.wandb"))  # the run's log, which `wandb sync` would upload


def test_ctrl_c_stops_a_run_with_exit_130(tiny_model: Path, sample_mirror: Path, tmp_path: Path) -> None:
    out = tmp_path / "interrupted"
    proc = subprocess.Popen(
        sosbench_command(*run_args(tiny_model, sample_mirror, out, ["bbq", "xstest"], limit=8)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for(out / "manifest.json", proc)  # written when the run starts, before the model loads
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 130, stderr[-2000:]
    assert stderr.strip().splitlines()[-1].startswith("error: interrupted")
    assert not (out / "xstest" / "done.json").exists()


def wait_for(path: Path, proc: subprocess.Popen[str], limit: float = 300) -> None:
    """Poll until ``path`` exists; fail if the process ends first (an event, not a fixed sleep)."""
    deadline = time.monotonic() + limit
    while not path.exists():
        assert proc.poll() is None, f"the run ended (rc {proc.returncode}) before {path.name} appeared"
        assert time.monotonic() < deadline, f"{path} did not appear"
        time.sleep(0.02)


def test_sandbox_budget_options_reach_the_config_and_the_manifest(tmp_path: Path) -> None:
    """--sandbox-memory/--sandbox-processes are checked before anything runs, and the manifest says which
    budget coding sandboxes get here (check_available probes it) and how large it is."""
    from sosbench.run import RunConfig
    from sosbench.run._preflight import sandbox_record
    from sosbench.sandbox import check_available

    for option, value, message in (
        ("--sandbox-memory", "10M", "too small"),
        ("--sandbox-memory", "two gigs", "not a size"),
        ("--sandbox-processes", "0", "at least 1"),
    ):
        result = sosbench_in_process(
            "run", "--model", "hf", "-b", "xstest", "-o", str(tmp_path / "o"), option, value
        )
        assert result.returncode == 1 and result.stderr.strip().startswith("error: "), result.stderr
        assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    config = RunConfig(
        model="hf", model_args={}, benchmarks=("livebench-coding",), output=tmp_path, sandbox_memory=1024**3
    )
    record = sandbox_record([get_benchmark("livebench-coding")], config)
    budget = check_available()
    assert record == {
        "mode": "bwrap",
        "budget": budget,
        "memory_bytes": 1024**3,
        "processes": 64 if budget == "cgroup" else 2,
    }
    assert sandbox_record([get_benchmark("xstest")], config) is None


# ------------------------------------------------------------------------------ honest state (issue 21)
@pytest.mark.parametrize("limit", ["-1", "0", "1.5", "nan"])
def test_a_limit_lm_eval_would_refuse_is_refused_before_any_model_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit: str
) -> None:
    from typer.testing import CliRunner

    from sosbench.cli import app
    from sosbench.run import _lmeval

    def no_model(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a model was loaded before --limit was checked")

    monkeypatch.setattr(_lmeval, "make_model", no_model)
    out = tmp_path / "out"
    args = ["run", "--model", "hf", "--model-args", "pretrained=x", "-b", "xstest", "-o", str(out)]
    result = CliRunner().invoke(app, [*args, "--limit", limit])
    assert result.exit_code == 1 and result.stderr.strip().splitlines() == [
        f"error: --limit {float(limit):g} is neither a number of items (1, 2, ...) "
        "nor a fraction between 0 and 1"
    ]
    assert not out.exists()


def _mirror_at(folder: Path, revisions: dict[str, str]) -> Path:
    """A mirror's manifest alone, recording ``revisions`` (what planning a resume reads of a mirror)."""
    from sosbench.run import MANIFEST_NAME

    folder.mkdir()
    datasets = {dataset: {"revision": revision, "files": {}} for dataset, revision in revisions.items()}
    (folder / MANIFEST_NAME).write_text(json.dumps({"schema_version": 1, "datasets": datasets}))
    return folder


def test_a_resume_reads_the_data_its_first_attempt_read_and_records_where(tmp_path: Path) -> None:
    from dataclasses import replace

    from sosbench.run import RunConfig, plan
    from sosbench.run._runner import _ModelRun

    dataset = get_benchmark("xstest").datasets[0].id
    first = RunConfig(
        model="hf",
        model_args={"pretrained": "x"},
        benchmarks=("xstest",),
        output=tmp_path / "run",
        data_dir=_mirror_at(tmp_path / "mirror", {dataset: "aaa"}),
    )
    _ModelRun(first, plan(first))  # the first attempt started (and was stopped before xstest finished)
    manifest = tmp_path / "run" / "manifest.json"
    assert json.loads(manifest.read_text())["datasets"][dataset]["data_dir"] == str(tmp_path / "mirror")

    copy = replace(first, data_dir=_mirror_at(tmp_path / "copy", {dataset: "aaa"}))  # another machine's copy
    _ModelRun(copy, plan(copy))
    recorded = json.loads(manifest.read_text())
    assert recorded["datasets"][dataset] | {"data_dir": None} == {
        "configs": list(get_benchmark("xstest").datasets[0].configs),
        "splits": list(get_benchmark("xstest").datasets[0].splits),
        "revision": "aaa",
        "source": "mirror",
        "data_dir": None,
    } and recorded["datasets"][dataset]["data_dir"] == str(tmp_path / "copy")  # xstest runs from the copy

    before = manifest.read_bytes()
    other = replace(first, data_dir=_mirror_at(tmp_path / "newer", {dataset: "bbb"}))
    with pytest.raises(SosbenchError) as refused:
        plan(other)
    assert str(refused.value) == (
        f"{tmp_path / 'run'} was run with {dataset} at revision aaa from the mirror {tmp_path / 'copy'}; "
        f"the mirror {tmp_path / 'newer'} has revision bbb: resume with the data of the first attempt "
        "(its --data-dir), or pass --overwrite to start over"
    )
    with pytest.raises(SosbenchError, match=r"at revision aaa from the mirror .*; the hub has revision"):
        plan(replace(first, data_dir=None))
    assert manifest.read_bytes() == before
    assert plan(other, overwrite=True).clear  # --overwrite starts over with the other data


def test_a_model_name_given_on_resume_renames_the_run(tmp_path: Path) -> None:
    from dataclasses import replace

    from sosbench.run import RunConfig, plan
    from sosbench.run._runner import _ModelRun

    first = RunConfig(
        model="hf", model_args={"pretrained": "org/base"}, benchmarks=("xstest",), output=tmp_path / "run"
    )
    _ModelRun(first, plan(first))
    manifest = tmp_path / "run" / "manifest.json"
    assert json.loads(manifest.read_text())["model_name"] == "base"
    renamed = replace(first, model_name="my-sft")
    _ModelRun(renamed, plan(renamed))  # not a new configuration: the same run, resumed, under its new name
    assert json.loads(manifest.read_text())["model_name"] == "my-sft"
    _ModelRun(first, plan(first))  # a resume without --model-name keeps the name it has
    assert json.loads(manifest.read_text())["model_name"] == "my-sft"
