"""Units, shards and executors: sharded runs on Ray and through submitit merge into the unsharded run.

The reference is a whole (unsharded) run in this process. Sharded runs on a local Ray instance and
through submitit's LocalExecutor must give the same results.json (scores, stderrs, BBQ's
size-weighted group, n-samples, configs) and byte-identical per-sample logs. One unit of each
sharded run is SIGKILLed after writing its files and before its done.json (``kill_once``, a worker
function this module swaps in: nothing of it ships in the package), so the same runs also check that
a killed unit is retried and nothing is lost or duplicated.
Batch size 1 keeps loglikelihoods bit-identical whatever items share a batch.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from _cli import sosbench

from sosbench.errors import SosbenchError
from sosbench.run import Job, RunConfig, RunHooks, Unit, execute_all, plan
from sosbench.run.executors import Events, Failure, LocalExecutor, RetryPolicy, SlurmExecutor

BENCHES = (
    "bbq",
    "mmlu-pro",
    "xstest",
)  # a size-weighted group, a first_n 5-shot task, an unsharded benchmark
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


def kill_once(unit_key: str) -> Callable[[Job], dict[str, Any]]:
    """A worker function for Ray tasks and Slurm array tasks: ``run_job``, except that the unit
    ``unit_key`` SIGKILLs its own process after writing its files and before ``done.json``, once per run
    folder (the marker ``DIR/.killed-<benchmark>-<k>-of-<n>`` remembers it)."""

    def run_job(job: Job) -> dict[str, Any]:
        from sosbench.run import _layout, _worker

        marker = job.config.output / f".killed-{job.unit.benchmark}-{job.unit.folder_name}"
        if job.unit.key() == unit_key and not marker.exists():
            finish = _layout.RunDir.finish

            def finish_after_a_kill(self: Any, name: str, done: dict[str, Any]) -> Any:
                marker.write_text("killed", encoding="utf-8")
                os.kill(os.getpid(), signal.SIGKILL)
                return finish(self, name, done)

            _layout.RunDir.finish = finish_after_a_kill  # this worker process only, and it dies here
        return _worker.run_job(job)

    return run_job


@pytest.fixture
def pickled_by_value() -> None:
    """Ray and submitit workers unpickle ``kill_once`` without importing this test module."""
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        import ray.cloudpickle

        ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    except ImportError:
        pass


class LocalSlurm(SlurmExecutor):
    """The Slurm executor's job arrays as local processes (submitit's LocalExecutor): no cluster needed."""

    def _executor(self, submitit: Any) -> Any:
        ex = submitit.LocalExecutor(folder=str(self.folder))
        ex.update_parameters(timeout_min=self.time_min, gpus_per_node=self.gpus_per_unit)
        return ex


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
        assert {k: v for k, v in b.items() if k not in RUN_KEYS} == {
            k: v for k, v in a.items() if k not in RUN_KEYS
        }
        files = sorted(p.name for p in (whole / bench).glob("samples_*.jsonl"))
        assert files and files == sorted(p.name for p in (sharded / bench).glob("samples_*.jsonl"))
        for name in files:
            assert (sharded / bench / name).read_text() == (whole / bench / name).read_text(), (
                f"{bench}/{name}"
            )
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
        "bbq[0-of-3]",
        "bbq[1-of-3]",
        "bbq[2-of-3]",
        "mmlu-pro[0-of-3]",
        "mmlu-pro[1-of-3]",
        "mmlu-pro[2-of-3]",
        "xstest",
    ]
    assert [u.key() for u in plan(config).units] == list(BENCHES)  # local default: whole benchmarks
    assert [u.shards for u in plan(config, executor="ray").units] == [8] * 8 + [4] * 4 + [1]  # suite defaults
    with pytest.raises(SosbenchError, match="--shards must be at least 1"):
        plan(config, shards=0)


@pytest.mark.slow
def test_ray_sharded_run_with_a_killed_unit_equals_unsharded(
    unsharded: Path,
    tiny_model: Path,
    sample_mirror: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    pickled_by_value: None,
) -> None:
    ray = pytest.importorskip("ray")
    from sosbench.run.executors import RayExecutor, _ray

    out = tmp_path / "ray"
    monkeypatch.setattr(_ray, "run_job", kill_once("bbq[1-of-2]"))
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
    unsharded: Path,
    tiny_model: Path,
    sample_mirror: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    pickled_by_value: None,
) -> None:
    pytest.importorskip("submitit")
    from sosbench.run.executors import _slurm

    out = tmp_path / "slurm"
    monkeypatch.setattr(_slurm, "run_job", kill_once("mmlu-pro[0-of-2]"))
    events = Recorder()
    executor = LocalSlurm(folder=tmp_path / "submitit", gpus_per_unit=0, retries=1)
    config = config_for(tiny_model, sample_mirror, out, benchmarks=("mmlu-pro",))
    execute_all([config], executor, shards=SHARDS, hooks=events.hooks())
    assert (out / ".killed-mmlu-pro-0-of-2").exists()
    assert [key for key, _ in events.failed] == ["mmlu-pro[0-of-2]"] and events.failed[0][1]
    rows = shard_rows(out, "mmlu-pro")
    assert len(rows) == len(set(rows)) == LIMIT
    assert_same_run(out, unsharded, ("mmlu-pro",))


@pytest.mark.slow
def test_resume_reruns_only_missing_units(
    unsharded: Path, tiny_model: Path, sample_mirror: Path, tmp_path: Path
) -> None:
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


@pytest.mark.slow
def test_models_file_gives_one_scoreable_folder_per_model(
    tiny_model: Path, sample_mirror: Path, tmp_path: Path
) -> None:
    specs = tmp_path / "models.yaml"
    specs.write_text(
        f"- {{model: hf, model_args: {{pretrained: {tiny_model}, dtype: float32}}, model_name: first}}\n"
        f"- {{model: hf, model_args: 'pretrained={tiny_model},dtype=float32', model_name: second}}\n"
    )
    out = tmp_path / "runs"
    result = sosbench(
        "run",
        "--models",
        str(specs),
        "--benchmarks",
        "xstest",
        "--limit",
        "2",
        "--batch-size",
        "1",
        "--device",
        "cpu",
        "--data-dir",
        str(sample_mirror),
        "--output",
        str(out),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == ["first", "second"]
    for name in ("first", "second"):
        manifest = json.loads((out / name / "manifest.json").read_text())
        assert manifest["model_name"] == name and manifest["model_args"]["dtype"] == "float32"
    scored = sosbench(
        "score",
        str(out / "first"),
        str(out / "second"),
        "--allow-partial",
        "--format",
        "json",
        "--bootstrap",
        "0",
    )
    assert scored.returncode == 0, scored.stderr
    models = json.loads(scored.stdout)["models"]
    assert [m["model"] for m in models] == ["first", "second"]
    # Same weights, same items: the two folders hold the same score.
    assert models[0]["benchmarks"]["xstest"]["score"] == models[1]["benchmarks"]["xstest"]["score"]


def test_unknown_executor_is_one_line(tmp_path: Path) -> None:
    result = sosbench(
        "run", "--model", "hf", "--executor", "dask", "--benchmarks", "xstest", "-o", str(tmp_path / "o")
    )
    assert result.returncode == 1
    assert result.stderr.strip() == "error: unknown executor 'dask': use one of local, ray, slurm"


def test_registry_builds_each_executor_from_the_run_options(tmp_path: Path) -> None:
    from sosbench._registry import UnknownNameError
    from sosbench.run.executors import ExecutorOptions, RayExecutor, executors

    options = ExecutorOptions(
        output=tmp_path,
        retries=3,
        ray_address="auto",
        gpus_per_unit=0.5,
        cpus_per_unit=2.5,
        slurm_partition="gpu",
        slurm_time_min=90,
        slurm_gpus=2,
        slurm_max_parallel=4,
    )
    registry = executors()
    assert registry.names() == ["local", "ray", "slurm"]
    assert registry.get("local")(options) == LocalExecutor(retries=3)
    assert registry.get("ray")(options) == RayExecutor(
        address="auto", gpus_per_unit=0.5, cpus_per_unit=2.5, retries=3
    )
    assert registry.get("slurm")(options) == SlurmExecutor(
        folder=tmp_path / ".submitit",
        partition="gpu",
        time_min=90,
        gpus_per_unit=2,
        cpus_per_unit=2,
        max_parallel=4,
        retries=3,
    )
    assert all(registry.get(name)(options).name == name for name in registry.names())
    with pytest.raises(UnknownNameError, match=r"^unknown executor 'rey': did you mean ray\?$"):
        registry.get("rey")


PLUGIN_EXECUTOR = """
from dataclasses import dataclass

from sosbench.run._worker import run_job
from sosbench.run.executors import RetryPolicy


@dataclass(frozen=True)
class InlineExecutor:
    retries: int
    name: str = "inline"

    @classmethod
    def from_options(cls, options):
        return cls(retries=options.retries)

    def check(self):
        pass

    def run(self, jobs, events):
        failures, policy = [], RetryPolicy(self.retries)
        for job in jobs:
            attempt = 0
            while True:
                events.started(job)
                try:
                    info = run_job(job)
                except Exception as exc:
                    again = policy.settle(job, attempt, events, failures, error=exc)
                else:
                    again = policy.settle(job, attempt, events, failures, info=info)
                if not again:
                    break
                attempt += 1
        return failures
"""


@pytest.fixture
def plugin_executor(tmp_path: Path, install_plugin: Callable[..., None]) -> Any:
    """An executor installed as a plugin would be: a real `sosbench.executors` entry point."""
    from sosbench.run.executors import executors

    site = tmp_path / "site"
    install_plugin(
        site,
        "sosbench.executors",
        "inline",
        "my_executor_plugin:InlineExecutor.from_options",
        PLUGIN_EXECUTOR,
    )
    executors.cache_clear()
    yield site
    executors.cache_clear()


def test_plugin_executor_registers_through_an_entry_point(plugin_executor: Path, tmp_path: Path) -> None:
    from sosbench.cli._run import _executor
    from sosbench.run.executors import ExecutorOptions, executors

    assert executors().names() == ["local", "ray", "slurm", "inline"]
    built = _executor("inline", ExecutorOptions(output=tmp_path, retries=2))
    assert type(built).__name__ == "InlineExecutor" and built.name == "inline" and built.retries == 2
    env = {**os.environ, "PYTHONPATH": f"{plugin_executor}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    result = sosbench("run", "--model", "hf", "--executor", "dask", "-o", str(tmp_path / "o"), env=env)
    assert result.returncode == 1
    assert result.stderr.strip() == "error: unknown executor 'dask': use one of local, ray, slurm, inline"


@pytest.mark.slow
def test_plugin_executor_runs_units(
    plugin_executor: Path, tiny_model: Path, sample_mirror: Path, tmp_path: Path
) -> None:
    """The plugin's units go through ``run_job`` and the shared ``RetryPolicy`` into a finished run."""
    from sosbench.run.executors import ExecutorOptions, executors

    out = tmp_path / "run"
    events = Recorder()
    config = config_for(tiny_model, sample_mirror, out, benchmarks=("mmlu-pro",), limit=2)
    execute_all(
        [config], executors().get("inline")(ExecutorOptions(output=out)), shards=1, hooks=events.hooks()
    )
    assert events.done == ["mmlu-pro"] and events.failed == []
    assert json.loads((out / "manifest.json").read_text())["finished"]
    assert (out / "mmlu-pro" / "results.json").is_file()


def test_a_plugin_executor_that_fails_to_import_is_one_line(
    tmp_path: Path, install_plugin: Callable[..., None]
) -> None:
    from sosbench.run.executors import executors

    install_plugin(
        tmp_path, "sosbench.executors", "broken", "my_broken_executor:make", "import not_a_module\n"
    )
    executors.cache_clear()
    try:
        with pytest.raises(SosbenchError, match=r"^entry point sosbench.executors:broken \(package"):
            executors()
    finally:
        executors.cache_clear()


@pytest.mark.parametrize(
    ("executor", "module", "extra"), [("ray", "ray", "ray"), ("slurm", "submitit", "slurm")]
)
def test_missing_executor_package_names_the_extra(
    tmp_path: Path, sample_mirror: Path, executor: str, module: str, extra: str
) -> None:
    blocker = tmp_path / "blocked"
    (blocker / module).mkdir(parents=True)
    (blocker / module / "__init__.py").write_text(f"raise ImportError('{module} blocked for this test')\n")
    env = {**os.environ, "PYTHONPATH": f"{blocker}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    result = sosbench(
        "run",
        "--model",
        "hf",
        "--model-args",
        "pretrained=unused",
        "--batch-size",
        "1",  # no default to work out: that imports transformers, which this test does not need
        "--executor",
        executor,
        "--benchmarks",
        "xstest",
        "--data-dir",
        str(sample_mirror),
        "-o",
        str(tmp_path / "o"),
        env=env,
    )
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: {module} is not installed: run `pip install 'sosbench[{extra}]'`"


def test_models_file_errors_are_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "models.json"
    bad.write_text(json.dumps([{"model": "hf", "model_args": {}, "pretrained": "x"}]))
    result = sosbench("run", "--models", str(bad), "--benchmarks", "xstest", "-o", str(tmp_path / "o"))
    assert result.returncode == 1
    assert result.stderr.strip().startswith(f"error: --models file {bad} entry 1: unknown key 'pretrained'")
    neither = sosbench("run", "--benchmarks", "xstest", "-o", str(tmp_path / "o"))
    assert (
        neither.stderr.strip()
        == "error: give either --model (one model) or --models FILE (a list of model specs)"
    )


class RayTaskError(Exception):
    """What ``ray.get`` raises for a task that raised: the original error is its ``cause``."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(f"task failed\n{cause}")
        self.cause = cause


@pytest.mark.parametrize(
    ("outcome", "retried"),
    [
        ({"error": RuntimeError("CUDA error: an illegal memory access")}, True),
        ({"error": "FailedJobError: job 12_0 was killed (OUT_OF_MEMORY)"}, True),  # submitit: text only
        ({"error": SosbenchError("unknown --model 'hff': did you mean hf?")}, False),
        ({"error": RayTaskError(SosbenchError("unknown --model 'hff': did you mean hf?"))}, False),
        ({"info": {"input_error": "unknown --model 'hff': did you mean hf?"}}, False),  # a worker's return
    ],
)
def test_one_retry_rule_never_retries_input_errors(outcome: dict[str, Any], retried: bool) -> None:
    """docs/scale.md: failures are retried ``--retries`` times, input errors never (Slurm retried them)."""
    reported: list[tuple[str, bool]] = []
    events = Events(
        started=lambda job: None,
        finished=lambda job, info: None,
        failed=lambda job, error, retry: reported.append((error, retry)),
    )
    job = Job(
        RunConfig(model="hf", model_args={}, benchmarks=("xstest",), output=Path("o")), Unit("xstest"), "h"
    )
    failures: list[Failure] = []
    policy = RetryPolicy(retries=2)
    attempts = 0
    while policy.settle(job, attempts, events, failures, **outcome):
        attempts += 1
    assert attempts == (2 if retried else 0)
    assert [retry for _, retry in reported] == ([True, True, False] if retried else [False])
    assert len(failures) == 1 and failures[0].input_error is not retried
    if not retried:
        assert failures[0].error == "unknown --model 'hff': did you mean hf?"  # the unit's own line


def test_finished_unit_is_reported_once() -> None:
    done: list[dict[str, Any]] = []
    events = Events(
        started=lambda job: None,
        finished=lambda job, info: done.append(info),
        failed=lambda job, error, retry: pytest.fail("not a failure"),
    )
    job = Job(
        RunConfig(model="hf", model_args={}, benchmarks=("xstest",), output=Path("o")), Unit("xstest"), "h"
    )
    failures: list[Failure] = []
    assert RetryPolicy(retries=1).settle(job, 0, events, failures, info={"seconds": 1.0}) is False
    assert done == [{"seconds": 1.0}] and failures == []


@pytest.mark.slow
def test_slurm_array_task_with_an_input_error_is_not_resubmitted(sample_mirror: Path, tmp_path: Path) -> None:
    pytest.importorskip("submitit")
    events = Recorder()
    missing = tmp_path / "no-such-model"  # found only where the unit loads its model: inside the array task
    config = RunConfig(
        model="hf",
        model_args={"pretrained": str(missing)},
        benchmarks=("xstest",),
        output=tmp_path / "o",
        data_dir=sample_mirror,
    )
    with pytest.raises(SosbenchError) as raised:
        execute_all(
            [config],
            LocalSlurm(folder=tmp_path / "submitit", gpus_per_unit=0, retries=2),
            hooks=events.hooks(),
        )
    assert str(raised.value).startswith(f"--model-args pretrained={missing}: no such folder")
    assert events.failed == [("xstest", False)]  # one attempt, not resubmitted
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert manifest["finished"] is None and manifest["timings"] == {}
