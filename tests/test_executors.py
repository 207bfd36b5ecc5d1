"""Units, shards and executors: sharded runs on Ray and through submitit merge into the unsharded run.

The reference is a whole (unsharded) run in this process. Sharded runs on a local Ray instance and
through submitit's LocalExecutor must give the same results.json (scores, stderrs, BBQ's
size-weighted group, n-samples, configs) and byte-identical per-sample logs. One unit of each
sharded run is SIGKILLed after writing its files (the ``SOSBENCH_KILL_UNIT_ONCE`` hook), so the
same runs also check that a killed unit is retried and nothing is lost or duplicated.
Batch size 1 keeps loglikelihoods bit-identical whatever items share a batch.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sosbench.errors import SosbenchError
from sosbench.run import KILL_ONCE_ENV, RunConfig, RunHooks, execute_all, plan
from sosbench.run.executors import LocalExecutor

BENCHES = ("bbq", "mmlu-pro", "xstest")  # a size-weighted group, a first_n 5-shot task, an unsharded benchmark
LIMIT = 4
SHARDS = 2
# Keys of results.json that depend on the run itself (timestamps), not on the items.
RUN_KEYS = {"date", "start_time", "end_time", "total_evaluation_time_seconds"}


def config_for(model: Path, mirror: Path, out: Path, **changes: Any) -> RunConfig:
    base = RunConfig(
        model="hf",
        model_args={"pretrained": str(model), "dtype": "float32"},
        benchmarks=BENCHES,
        output=out,
        limit=LIMIT,
        batch_size="1",
        device="cpu",
        data_dir=mirror,
    )
    return RunConfig(**{**base.__dict__, **changes})


class Recorder:
    """The progress events a run reports, for asserting on retries."""

    def __init__(self) -> None:
        self.done: list[str] = []
        self.failed: list[tuple[str, bool]] = []

    def hooks(self) -> RunHooks:
        return RunHooks(
            unit_done=lambda job, info: self.done.append(job.unit.key()),
            unit_failed=lambda job, error, retry: self.failed.append((job.unit.key(), retry)),
        )


@pytest.fixture(scope="module")
def unsharded(tiny_model: Path, sample_mirror: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("whole") / "run"
    execute_all([config_for(tiny_model, sample_mirror, out)], LocalExecutor())
    return out


def assert_same_run(sharded: Path, whole: Path, benches: tuple[str, ...]) -> None:
    for bench in benches:
        a = json.loads((whole / bench / "results.json").read_text())
        b = json.loads((sharded / bench / "results.json").read_text())
        assert {k: v for k, v in b.items() if k not in RUN_KEYS} == {k: v for k, v in a.items() if k not in RUN_KEYS}
        files = sorted(p.name for p in (whole / bench).glob("samples_*.jsonl"))
        assert files and files == sorted(p.name for p in (sharded / bench).glob("samples_*.jsonl"))
        for name in files:
            assert (sharded / bench / name).read_text() == (whole / bench / name).read_text(), f"{bench}/{name}"
    manifest = json.loads((sharded / "manifest.json").read_text())
    assert manifest["finished"] and set(manifest["timings"]) == set(benches)


def shard_rows(run: Path, bench: str) -> list[tuple[str, int]]:
    """(task, doc id) of every per-sample line in the shard folders."""
    rows = []
    for path in (run / ".shards" / bench).glob(f"*-of-{SHARDS}/samples_*.jsonl"):
        rows += [(path.stem, json.loads(line)["doc_id"]) for line in path.read_text().splitlines()]
    return rows


def test_plan_shards_only_large_benchmarks(tiny_model: Path, sample_mirror: Path, tmp_path: Path) -> None:
    config = config_for(tiny_model, sample_mirror, tmp_path / "p")
    units = plan(config, shards=3).units
    assert [u.key() for u in units] == [
        "bbq[0-of-3]", "bbq[1-of-3]", "bbq[2-of-3]",
        "mmlu-pro[0-of-3]", "mmlu-pro[1-of-3]", "mmlu-pro[2-of-3]", "xstest",
    ]  # fmt: skip
    assert [u.key() for u in plan(config).units] == list(BENCHES)  # local default: whole benchmarks
    assert [u.shards for u in plan(config, executor="ray").units] == [8] * 8 + [4] * 4 + [1]  # suite defaults
    with pytest.raises(SosbenchError, match="--shards must be at least 1"):
        plan(config, shards=0)


@pytest.mark.slow
def test_ray_sharded_run_with_a_killed_unit_equals_unsharded(
    unsharded: Path, tiny_model: Path, sample_mirror: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ray = pytest.importorskip("ray")
    from sosbench.run.executors import RayExecutor

    out = tmp_path / "ray"
    monkeypatch.setenv(KILL_ONCE_ENV, "bbq[1-of-2]")  # before ray.init: workers inherit it
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        events = Recorder()
        execute_all(
            [config_for(tiny_model, sample_mirror, out, benchmarks=("bbq", "xstest"))],
            RayExecutor(gpus_per_unit=0, retries=1),
            shards=SHARDS,
            hooks=events.hooks(),
        )
    finally:
        ray.shutdown()
    assert (out / ".killed-bbq-1-of-2").exists()  # the unit really was killed once ...
    assert events.failed == [("bbq[1-of-2]", True)]  # ... reported, retried ...
    assert sorted(events.done) == ["bbq[0-of-2]", "bbq[1-of-2]", "xstest"]
    rows = shard_rows(out, "bbq")
    assert len(rows) == len(set(rows))  # ... and nothing is duplicated
    assert not list((out / ".shards" / "bbq").glob(".*.partial"))
    assert_same_run(out, unsharded, ("bbq", "xstest"))  # ... or lost


@pytest.mark.slow
def test_submitit_sharded_run_with_a_killed_unit_equals_unsharded(
    unsharded: Path, tiny_model: Path, sample_mirror: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("submitit")
    from sosbench.run.executors import SlurmExecutor

    out = tmp_path / "slurm"
    monkeypatch.setenv(KILL_ONCE_ENV, "mmlu-pro[0-of-2]")
    events = Recorder()
    executor = SlurmExecutor(folder=tmp_path / "submitit", local=True, gpus_per_unit=0, retries=1)
    config = config_for(tiny_model, sample_mirror, out, benchmarks=("mmlu-pro",))
    execute_all([config], executor, shards=SHARDS, hooks=events.hooks())
    assert (out / ".killed-mmlu-pro-0-of-2").exists()
    assert [key for key, _ in events.failed] == ["mmlu-pro[0-of-2]"] and events.failed[0][1]
    rows = shard_rows(out, "mmlu-pro")
    assert len(rows) == len(set(rows)) == LIMIT
    assert_same_run(out, unsharded, ("mmlu-pro",))


@pytest.mark.slow
def test_resume_reruns_only_missing_units(unsharded: Path, tiny_model: Path, sample_mirror: Path, tmp_path: Path) -> None:
    """A failed unit keeps the finished ones; the rerun does only the missing shard, then merges."""
    out = tmp_path / "resume"
    config = config_for(tiny_model, sample_mirror, out, benchmarks=("bbq",))
    execute_all([config], LocalExecutor(), shards=SHARDS)
    (out / "bbq" / "done.json").unlink()  # as if killed before the merge ...
    shard1 = out / ".shards" / "bbq" / "1-of-2"
    (shard1 / "done.json").unlink()  # ... and before shard 1 finished
    before = (out / ".shards" / "bbq" / "0-of-2" / "done.json").read_text()
    assert [u.key() for u in plan(config, shards=SHARDS).units] == ["bbq[1-of-2]"]
    events = Recorder()
    execute_all([config], LocalExecutor(), shards=SHARDS, hooks=events.hooks())
    assert events.done == ["bbq[1-of-2]"]
    assert (out / ".shards" / "bbq" / "0-of-2" / "done.json").read_text() == before
    whole = json.loads((unsharded / "bbq" / "results.json").read_text())
    merged = json.loads((out / "bbq" / "results.json").read_text())
    assert merged["results"] == whole["results"] and merged["n-samples"] == whole["n-samples"]


def sosbench(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sosbench.cli", *args], check=False, capture_output=True, text=True, timeout=600,
        env=env or dict(os.environ),
    )  # fmt: skip


@pytest.mark.slow
def test_models_file_gives_one_scoreable_folder_per_model(tiny_model: Path, sample_mirror: Path, tmp_path: Path) -> None:
    specs = tmp_path / "models.yaml"
    specs.write_text(
        f"- {{model: hf, model_args: {{pretrained: {tiny_model}, dtype: float32}}, model_name: first}}\n"
        f"- {{model: hf, model_args: 'pretrained={tiny_model},dtype=float32', model_name: second}}\n"
    )
    out = tmp_path / "runs"
    result = sosbench(
        "run", "--models", str(specs), "--benchmarks", "xstest", "--limit", "2", "--batch-size", "1",
        "--device", "cpu", "--data-dir", str(sample_mirror), "--output", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == ["first", "second"]
    for name in ("first", "second"):
        manifest = json.loads((out / name / "manifest.json").read_text())
        assert manifest["model_name"] == name and manifest["model_args"]["dtype"] == "float32"
    scored = sosbench("score", str(out / "first"), str(out / "second"), "--allow-partial", "--format", "json", "--bootstrap", "0")
    assert scored.returncode == 0, scored.stderr
    models = json.loads(scored.stdout)["models"]
    assert [m["model"] for m in models] == ["first", "second"]
    # Same weights, same items: the two folders hold the same score.
    assert models[0]["benchmarks"]["xstest"]["score"] == models[1]["benchmarks"]["xstest"]["score"]


def test_unknown_executor_is_one_line(tmp_path: Path) -> None:
    result = sosbench("run", "--model", "hf", "--executor", "dask", "--benchmarks", "xstest", "-o", str(tmp_path / "o"))
    assert result.returncode == 1
    assert result.stderr.strip() == "error: unknown --executor 'dask': use one of local, ray, slurm"


@pytest.mark.parametrize(("executor", "module", "extra"), [("ray", "ray", "ray"), ("slurm", "submitit", "slurm")])
def test_missing_executor_package_names_the_extra(
    tmp_path: Path, sample_mirror: Path, executor: str, module: str, extra: str
) -> None:
    blocker = tmp_path / "blocked"
    (blocker / module).mkdir(parents=True)
    (blocker / module / "__init__.py").write_text(f"raise ImportError('{module} blocked for this test')\n")
    env = {**os.environ, "PYTHONPATH": f"{blocker}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    result = sosbench(
        "run", "--model", "hf", "--model-args", "pretrained=unused", "--executor", executor, "--benchmarks", "xstest",
        "--data-dir", str(sample_mirror), "-o", str(tmp_path / "o"), env=env,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: {module} is not installed: run `pip install 'sosbench[{extra}]'`"


def test_models_file_errors_are_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "models.json"
    bad.write_text(json.dumps([{"model": "hf", "model_args": {}, "pretrained": "x"}]))
    result = sosbench("run", "--models", str(bad), "--benchmarks", "xstest", "-o", str(tmp_path / "o"))
    assert result.returncode == 1
    assert result.stderr.strip().startswith(f"error: --models: {bad} entry 1: unknown key 'pretrained'")
    neither = sosbench("run", "--benchmarks", "xstest", "-o", str(tmp_path / "o"))
    assert neither.stderr.strip() == "error: give either --model (one model) or --models FILE (a list of model specs)"
