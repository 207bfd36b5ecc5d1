"""Units, shards and executors: sharded runs on Ray and through submitit merge into the unsharded run.

The reference is a whole (unsharded) run in this process. Sharded runs on Ray (a local instance, and a
three-node ``ray.cluster_utils.Cluster`` that loses a node mid-run) and through submitit's LocalExecutor
must give the same results.json (scores, stderrs, BBQ's size-weighted group, n-samples, configs) and
byte-identical per-sample logs. The workers are instrumented from here (``instrument``: nothing of it
ships in the package): each model load and each unit's start and end is logged, so the tests count loads
per worker and executions per unit; one unit is SIGKILLed after writing its files and before its
done.json, or held until its node is removed, to check that only that unit is lost and run again.
Batch size 1 keeps loglikelihoods bit-identical whatever items share a batch.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from _cli import sosbench, sosbench_in_process

from sosbench.errors import SosbenchError
from sosbench.run import Job, RunConfig, RunHooks, Unit, execute_all, plan
from sosbench.run.executors import (
    Events,
    ExecutorContext,
    Failure,
    LocalExecutor,
    RayExecutor,
    RetryPolicy,
    SlurmExecutor,
    build,
)

BENCHES = (
    "bbq",
    "mmlu-pro",
    "xstest",
)  # a size-weighted group, a first_n 5-shot task, an unsharded benchmark
LIMIT = 4
SHARDS = 2
# Keys of results.json that depend on the run itself (timestamps, the commit of the working folder), not on
# the items.
RUN_KEYS = {"date", "start_time", "end_time", "total_evaluation_time_seconds", "git_hash"}
WORKER_LOG = "worker-log.jsonl"
"""Beside the run folders (in their parent): what ``instrument`` logs in every worker process."""
SMALL_OBJECT_STORE = 80 * 1024 * 1024
"""Ray's object store per node in these tests (Ray's minimum is about 75 MiB; the default is 30% of RAM)."""


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


def instrument(log: Path, kill: str | None = None, hold: str | None = None) -> None:
    """In a worker process: log each model load and each unit's start and end to ``log`` (JSON lines).

    Units are named ``model:unit`` (``first:bbq[1-of-2]``). Unit ``kill`` SIGKILLs this process after
    writing its files and before its done.json, and unit ``hold`` blocks until its node is removed: each
    once per log.
    """
    from sosbench import rundir
    from sosbench.run import _lmeval

    make_model, evaluate, finish = _lmeval.make_model, _lmeval.evaluate, rundir.RunDir.finish
    current: dict[str, str] = {}

    def write(event: str, **fields: Any) -> None:
        with log.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps({"event": event, "pid": os.getpid(), **fields}) + "\n")

    def once(event: str) -> bool:
        return not any(e["event"] == event for e in log_events(log))

    def logged_make_model(config: RunConfig) -> Any:
        write("load", model=config.display_name())
        return make_model(config)

    def logged_evaluate(lm: Any, bench: Any, config: RunConfig, *args: Any) -> Any:
        shard = args[-1]
        current["unit"] = f"{config.display_name()}:{shard.key() if shard else bench.name}"
        write("start", unit=current["unit"])
        if current["unit"] == hold and once("hold"):
            import ray

            write("hold", unit=hold, node=ray.get_runtime_context().get_node_id())
            time.sleep(300)  # the test removes this node
        return evaluate(lm, bench, config, *args)

    def logged_finish(self: Any, name: str, marker: Any) -> Any:
        if current["unit"] == kill and once("kill"):
            write("kill", unit=kill)
            os.kill(os.getpid(), signal.SIGKILL)
        done = finish(self, name, marker)
        write("end", unit=current["unit"])
        return done

    _lmeval.make_model = logged_make_model
    _lmeval.evaluate = logged_evaluate
    rundir.RunDir.finish = logged_finish  # this worker process only


def log_events(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def instrumented_actor(kill: str | None = None, hold: str | None = None) -> type:
    """The Ray executor's worker class, instrumented (``instrument``) in each worker process."""
    from sosbench.run.executors import _ray

    class InstrumentedActor(_ray.ModelActor):
        def __init__(self, config: RunConfig, *args: Any) -> None:
            instrument(config.output.parent / WORKER_LOG, kill, hold)
            super().__init__(config, *args)

    return InstrumentedActor


def instrumented_units(kill: str | None = None) -> Callable[..., list[dict[str, Any]]]:
    """What a Slurm array task runs (``run_units``), instrumented (``instrument``)."""

    def run_units(jobs: Sequence[Job], journal: Path | None = None) -> list[dict[str, Any]]:
        from sosbench.run import _worker

        instrument(jobs[0].config.output.parent / WORKER_LOG, kill)
        return _worker.run_units(jobs, journal)

    return run_units


def loads_and_workers(log: Path) -> dict[str, tuple[int, int, int]]:
    """Per model: (model loads, worker processes that ran its units, its units)."""
    events = log_events(log)
    loads = Counter(e["model"] for e in events if e["event"] == "load")
    workers: dict[str, set[int]] = {}
    units: dict[str, set[str]] = {}
    for e in events:
        if e["event"] == "start":
            model = e["unit"].split(":", 1)[0]
            workers.setdefault(model, set()).add(e["pid"])
            units.setdefault(model, set()).add(e["unit"])
    return {m: (loads[m], len(workers[m]), len(units[m])) for m in workers}


def executions(log: Path, event: str = "start") -> Counter[str]:
    """How many times each unit started (or ended) in any worker."""
    return Counter(e["unit"] for e in log_events(log) if e["event"] == event)


@pytest.fixture
def pickled_by_value() -> None:
    """Ray and submitit workers unpickle this module's functions and classes without importing it."""
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
        ex.update_parameters(timeout_min=self.time_min, gpus_per_node=self.gpus_per_task)
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
def test_ray_worker_keeps_its_model_and_a_killed_worker_loses_one_unit(
    unsharded: Path,
    tiny_model: Path,
    sample_mirror: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    pickled_by_value: None,
) -> None:
    """One custom resource stands in for one GPU: one worker at a time, which loads the model once for
    all its units; killing it mid-unit costs that unit's attempt and one more load, nothing else."""
    ray = pytest.importorskip("ray")
    from sosbench.run.executors import _ray

    out = tmp_path / "ray"
    monkeypatch.setattr(_ray, "ModelActor", instrumented_actor(kill="tiny-llama:bbq[1-of-2]"))
    ray.init(
        num_cpus=2,
        resources={"fake_gpu": 1},
        include_dashboard=False,
        log_to_driver=False,
        object_store_memory=SMALL_OBJECT_STORE,
    )
    try:
        events = Recorder()
        execute_all(
            [config_for(tiny_model, sample_mirror, out, benchmarks=("bbq", "xstest"))],
            RayExecutor(gpus_per_unit=0, resources={"fake_gpu": 1}, retries=1),
            shards=SHARDS,
            hooks=events.hooks(),
        )
    finally:
        ray.shutdown()
    log = tmp_path / WORKER_LOG
    assert executions(log, "kill") == {"tiny-llama:bbq[1-of-2]": 1}  # the worker really was killed once ...
    assert events.failed == [("bbq[1-of-2]", True)]  # ... reported, retried ...
    assert sorted(events.done) == ["bbq[0-of-2]", "bbq[1-of-2]", "xstest"]
    units = ["tiny-llama:bbq[0-of-2]", "tiny-llama:bbq[1-of-2]", "tiny-llama:xstest"]
    assert executions(log, "end") == dict.fromkeys(units, 1)  # ... each unit finished once ...
    assert executions(log) == {**dict.fromkeys(units, 1), "tiny-llama:bbq[1-of-2]": 2}
    assert loads_and_workers(log) == {"tiny-llama": (2, 2, 3)}  # ... one load per worker, not per unit
    rows = shard_rows(out, "bbq")
    assert len(rows) == len(set(rows))  # nothing is duplicated ...
    assert not list((out / ".shards" / "bbq").glob(".*.partial"))
    assert_same_run(out, unsharded, ("bbq", "xstest"))  # ... or lost


NODE_LOSS_BENCHES = ("toxigen", "jailbreakhub", "saladbench", "xstest")
"""Three sharded benchmarks and a whole one, the cheapest of their kinds: 7 units per model at 2 shards."""
HELD = "second:saladbench[0-of-2]"
"""The unit in flight when its node goes: the second model's worker has finished four units by then."""


@pytest.fixture(scope="module")
def other_model(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A second random model (other shapes, other weights), so two models' results cannot be mixed up."""
    from _tiny_model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("other_model") / "tiny-other", shared_data, hidden=32)


def remove_node_when_held(cluster: Any, log: Path, removed: list[str], timeout: float = 600.0) -> None:
    """Remove the node on which unit ``HELD`` is running, as soon as it is held there."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        held = [e for e in log_events(log) if e["event"] == "hold"]
        if held:
            for node in cluster.list_all_nodes():
                if node.node_id == held[0]["node"]:
                    cluster.remove_node(node, allow_graceful=False)
                    removed.append(node.node_id)
            return
        time.sleep(0.2)


@pytest.mark.slow
def test_ray_cluster_run_survives_a_lost_node(
    tiny_model: Path,
    other_model: Path,
    sample_mirror: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    pickled_by_value: None,
) -> None:
    """A head and two worker nodes (one custom resource each, standing in for a GPU) run 2 models x 4
    benchmarks in 14 units; the node running one model's worker is removed mid-unit. The run finishes,
    that unit alone runs again, each model is loaded once per worker it used, and the merged results
    equal a local run's exactly (batch size 1)."""
    ray = pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    from sosbench.run.executors import _ray

    started = time.monotonic()
    runs = tmp_path / "runs"
    models = {"first": tiny_model, "second": other_model}
    configs = [
        config_for(
            path, sample_mirror, runs / name, benchmarks=NODE_LOSS_BENCHES, model_name=name, limit=LIMIT
        )
        for name, path in models.items()
    ]
    monkeypatch.setattr(_ray, "ModelActor", instrumented_actor(hold=HELD))
    cluster = Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": 0,
            "object_store_memory": SMALL_OBJECT_STORE,
            "include_dashboard": False,
            "_system_config": {"health_check_period_ms": 500, "health_check_failure_threshold": 4},
        },
    )
    removed: list[str] = []
    try:
        for _ in range(2):
            cluster.add_node(num_cpus=1, resources={"fake_gpu": 1}, object_store_memory=SMALL_OBJECT_STORE)
        ray.init(address=cluster.address, log_to_driver=False)
        remover = threading.Thread(target=remove_node_when_held, args=(cluster, runs / WORKER_LOG, removed))
        remover.start()
        events = Recorder()
        execute_all(
            configs,
            RayExecutor(gpus_per_unit=0, cpus_per_unit=1, resources={"fake_gpu": 1}, retries=1),
            shards=SHARDS,
            hooks=events.hooks(),
        )
        remover.join()
    finally:
        ray.shutdown()
        cluster.shutdown()
    cluster_seconds = time.monotonic() - started
    log = runs / WORKER_LOG
    assert len(removed) == 1  # the node really went ...
    assert events.failed == [
        (HELD.split(":")[1], True)
    ]  # ... its unit in flight failed once, and was retried
    units = {e["unit"] for e in log_events(log) if e["event"] == "start"}
    assert len(units) == 14
    assert executions(log, "end") == dict.fromkeys(units, 1)  # every unit finished once ...
    assert executions(log) == {**dict.fromkeys(units, 1), HELD: 2}  # ... and none that finished ran again
    counts = loads_and_workers(log)
    assert all(loads == workers for loads, workers, _ in counts.values()), counts  # one load per worker ...
    assert counts["second"][0] == 2 and all(loads < n for loads, _, n in counts.values()), (
        counts
    )  # not per unit
    local = tmp_path / "local"
    execute_all([replace_output(c, local / c.output.name) for c in configs], LocalExecutor())
    for name in models:
        assert_same_run(runs / name, local / name, NODE_LOSS_BENCHES)
    print(f"node-loss run on the cluster: {cluster_seconds:.0f} s; loads, workers, units: {counts}")


def replace_output(config: RunConfig, output: Path) -> RunConfig:
    return RunConfig(**{**config.__dict__, "output": output})


@pytest.mark.slow
def test_slurm_array_task_per_model_loses_only_its_unit_in_flight(
    unsharded: Path,
    tiny_model: Path,
    sample_mirror: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    pickled_by_value: None,
) -> None:
    """One array task per model runs all its units on one load. The first model's task is killed in its
    first unit: that unit is retried, and the two units it never started go out again, not as failures."""
    pytest.importorskip("submitit")
    from sosbench.run.executors import _slurm

    monkeypatch.setattr(_slurm, "run_units", instrumented_units(kill="first:mmlu-pro[0-of-2]"))
    events = Recorder()
    executor = LocalSlurm(folder=tmp_path / "submitit", gpus_per_task=0, retries=1)
    first = config_for(
        tiny_model, sample_mirror, tmp_path / "first", benchmarks=("mmlu-pro", "xstest"), model_name="first"
    )
    second = config_for(
        tiny_model, sample_mirror, tmp_path / "second", benchmarks=("xstest",), model_name="second"
    )
    execute_all([first, second], executor, shards=SHARDS, hooks=events.hooks())
    log = tmp_path / WORKER_LOG
    assert executions(log, "kill") == {"first:mmlu-pro[0-of-2]": 1}
    assert events.failed == [("mmlu-pro[0-of-2]", True)]
    assert sorted(events.done) == ["mmlu-pro[0-of-2]", "mmlu-pro[1-of-2]", "xstest", "xstest"]
    assert executions(log) == {
        "first:mmlu-pro[0-of-2]": 2,
        "first:mmlu-pro[1-of-2]": 1,
        "first:xstest": 1,
        "second:xstest": 1,
    }
    # the killed task and its resubmission for the first model, one task for the second
    assert loads_and_workers(log) == {"first": (2, 2, 3), "second": (1, 1, 1)}
    rows = shard_rows(tmp_path / "first", "mmlu-pro")
    assert len(rows) == len(set(rows)) == LIMIT
    assert_same_run(tmp_path / "first", unsharded, ("mmlu-pro", "xstest"))
    assert_same_run(tmp_path / "second", unsharded, ("xstest",))


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
    result = sosbench_in_process(
        "run", "--model", "hf", "--executor", "dask", "--benchmarks", "xstest", "-o", str(tmp_path / "o")
    )
    assert result.returncode == 1
    assert result.stderr.strip() == "error: unknown executor 'dask': use one of local, ray, slurm"


def test_each_executor_takes_its_own_options(tmp_path: Path) -> None:
    """Named flags go to the executor that declares them, and on to what Ray and Slurm are asked for;
    ``--executor-option`` names must be the executor's own."""
    from sosbench._registry import UnknownNameError
    from sosbench.run.executors import executors

    flags = {
        "ray_address": "auto",
        "gpus_per_unit": 0.5,
        "cpus_per_unit": 2.0,
        "slurm_partition": "gpu",
        "slurm_time": 90,
        "slurm_gpus": None,  # not given: the executor's default
        "slurm_max_parallel": 4,
    }
    context = ExecutorContext(tmp_path, retries=3)
    ray = build("ray", context, flags, {"ray_workers": 2, "ray_resources": {"fake_gpu": 1}})
    assert ray.request() == {"CPU": 2.0, "GPU": 0.5, "fake_gpu": 1.0}  # one worker's Ray resources
    assert ray.capacity({"CPU": 64.0, "GPU": 8.0, "fake_gpu": 8.0}) == 2  # ray_workers, not what fits
    assert build("ray", context, flags).capacity({"CPU": 64.0, "GPU": 8.0}) == 16  # GPUs bound it
    assert ray.address == "auto" and ray.retries == 3
    slurm = build("slurm", context, flags)
    asked = SubmititRecorder()
    slurm._executor(asked)
    assert asked.folder == str(tmp_path / ".submitit") and asked.cluster == "slurm"
    assert asked.parameters == {
        "timeout_min": 90,
        "gpus_per_node": 1,
        "cpus_per_task": 2,
        "name": "sosbench",
        "slurm_partition": "gpu",
        "slurm_array_parallelism": 4,
    }
    assert slurm.retries == 3
    assert build("local", context, flags) == LocalExecutor(retries=3)
    with pytest.raises(SosbenchError, match=r"^--executor-option ray_worker: .* did you mean ray_workers\?$"):
        build("ray", context, options={"ray_worker": 2})
    with pytest.raises(SosbenchError, match=r"executor 'local' has no such option; its options: none$"):
        build("local", context, options={"ray_workers": 2})
    with pytest.raises(SosbenchError, match=r"^--executor ray options: ray_workers: Input should be greater"):
        build("ray", context, options={"ray_workers": 0})
    with pytest.raises(UnknownNameError, match=r"^unknown executor 'rey': did you mean ray\?$"):
        executors().get("rey")


class SubmititRecorder:
    """What the Slurm executor asks of submitit: its ``AutoExecutor`` and ``update_parameters``."""

    def AutoExecutor(self, folder: str, cluster: str) -> SubmititRecorder:  # submitit's name
        self.folder, self.cluster = folder, cluster
        return self

    def update_parameters(self, **parameters: Any) -> None:
        self.parameters = parameters


def test_executor_option_errors_are_one_line(tmp_path: Path) -> None:
    result = sosbench_in_process(
        "run", "--model", "hf", "--executor", "ray", "--executor-option", "ray_wrkers=2", "-o", str(tmp_path)
    )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: --executor-option ray_wrkers: executor 'ray' has no such option; did you mean ray_workers?"
    )
    bad = sosbench_in_process(
        "run",
        "--model",
        "hf",
        "--executor",
        "ray",
        "-o",
        str(tmp_path),
        env={"SOSBENCH_EXECUTOR_OPTION": "ray_workers"},
    )
    assert bad.stderr.strip() == "error: --executor-option: 'ray_workers' is not key=value"


PLUGIN_EXECUTOR = """
from dataclasses import dataclass

from sosbench.run._worker import run_job
from sosbench.run.executors import ExecutorOptions, RetryPolicy


class InlineOptions(ExecutorOptions):
    inline_reverse: bool = False


@dataclass(frozen=True)
class InlineExecutor:
    retries: int
    reverse: bool
    name: str = "inline"
    Options = InlineOptions

    @classmethod
    def from_options(cls, context, options):
        return cls(retries=context.retries, reverse=options.inline_reverse)

    def check(self):
        pass

    def run(self, jobs, events):
        failures, policy = [], RetryPolicy(self.retries)
        for job in reversed(jobs) if self.reverse else jobs:
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
        "my_executor_plugin:InlineExecutor",
        PLUGIN_EXECUTOR,
    )
    executors.cache_clear()
    yield site
    executors.cache_clear()


def test_plugin_executor_registers_through_an_entry_point(plugin_executor: Path, tmp_path: Path) -> None:
    from sosbench.cli._run import _executor
    from sosbench.run.executors import executors

    assert executors().names() == ["local", "ray", "slurm", "inline"]
    built = _executor("inline", tmp_path, 2, {"ray_address": "auto"}, ["inline_reverse=true"])
    assert type(built).__name__ == "InlineExecutor" and built.name == "inline"
    assert built.retries == 2 and built.reverse is True  # type: ignore[attr-defined]
    result = sosbench_in_process("run", "--model", "hf", "--executor", "dask", "-o", str(tmp_path / "o"))
    assert result.returncode == 1
    assert result.stderr.strip() == "error: unknown executor 'dask': use one of local, ray, slurm, inline"
    result = sosbench_in_process(
        "run",
        "--model",
        "hf",
        "--executor",
        "inline",
        "--executor-option",
        "inline_revers=1",
        "-o",
        str(tmp_path / "o"),
    )
    assert result.stderr.strip().endswith(
        "executor 'inline' has no such option; did you mean inline_reverse?"
    )


@pytest.mark.slow
def test_plugin_executor_runs_units(
    plugin_executor: Path, tiny_model: Path, sample_mirror: Path, tmp_path: Path
) -> None:
    """The plugin's units, in the order its own option sets, go through ``run_job`` and the shared
    ``RetryPolicy`` into a finished run."""
    out = tmp_path / "run"
    events = Recorder()
    config = config_for(tiny_model, sample_mirror, out, benchmarks=("xstest", "toxigen"), limit=2)
    executor = build("inline", ExecutorContext(out), options={"inline_reverse": True})
    execute_all([config], executor, shards=1, hooks=events.hooks())
    assert events.done == ["toxigen", "xstest"] and events.failed == []
    assert json.loads((out / "manifest.json").read_text())["finished"]
    assert (out / "xstest" / "results.json").is_file() and (out / "toxigen" / "results.json").is_file()


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
    assert result.stderr.strip() == (
        f"error: {module} is not installed: run `pip install -e '.[{extra}]'` in the sosbench clone"
    )


def test_models_file_errors_are_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "models.json"
    bad.write_text(json.dumps([{"model": "hf", "model_args": {}, "pretrained": "x"}]))
    result = sosbench_in_process(
        "run", "--models", str(bad), "--benchmarks", "xstest", "-o", str(tmp_path / "o")
    )
    assert result.returncode == 1
    assert result.stderr.strip().startswith(f"error: --models file {bad} entry 1: unknown key 'pretrained'")
    neither = sosbench_in_process("run", "--benchmarks", "xstest", "-o", str(tmp_path / "o"))
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
            LocalSlurm(folder=tmp_path / "submitit", gpus_per_task=0, retries=2),
            hooks=events.hooks(),
        )
    assert str(raised.value).startswith(f"--model-args pretrained={missing}: no such folder")
    assert events.failed == [("xstest", False)]  # one attempt, not resubmitted
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert manifest["finished"] is None and manifest["timings"] == {}


class FakeActorDied(Exception):
    """What a fake ``ray.get`` raises for a worker that died (Ray's ``RayActorError``)."""


class FakeRay:
    """Just enough of Ray's API for RayExecutor's driver, in this process: a worker runs a unit at once,
    scripted by ``fail`` (``model:unit`` -> "raise" or "die", on its first attempt only)."""

    exceptions = type("exceptions", (), {"RayActorError": FakeActorDied})

    def __init__(self, resources: dict[str, float], fail: dict[str, str]) -> None:
        self.resources = resources
        self.fail = dict(fail)
        self.workers: list[FakeWorker] = []

    def remote(self, _cls: type) -> Any:
        ray = self

        class WorkerClass:
            def options(self, **request: Any) -> Any:
                ray.request = request
                return self

            def remote(self, config: RunConfig, *_args: Any) -> FakeWorker:
                ray.workers.append(FakeWorker(ray, config.display_name()))
                return ray.workers[-1]

        return WorkerClass()

    def cluster_resources(self) -> dict[str, float]:
        return self.resources

    def wait(self, refs: list[Any], num_returns: int, timeout: float) -> tuple[list[Any], list[Any]]:
        return refs[:1], refs[1:]

    def get(self, ref: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        return ref()

    def kill(self, worker: FakeWorker, no_restart: bool) -> None:
        worker.state = "killed"


class FakeWorker:
    def __init__(self, ray: FakeRay, model: str) -> None:
        self.ray, self.model, self.state, self.ran = ray, model, "running", []
        self.run = type("method", (), {"remote": staticmethod(self._run)})
        self.close = type("method", (), {"remote": staticmethod(self._close)})

    def _run(self, unit: Unit) -> Callable[[], dict[str, Any]]:
        key = f"{self.model}:{unit.key()}"
        self.ran.append(key)
        what = self.ray.fail.pop(key, None)

        def result() -> dict[str, Any]:
            if what == "die":
                self.state = "dead"
                raise FakeActorDied(f"the worker running {key} died")
            if what == "raise":
                raise RuntimeError("CUDA error: an illegal memory access")
            return {"seconds": 1.0}

        return result

    def _close(self) -> None:
        self.state = "closed"


def fake_jobs(tmp_path: Path, units: dict[str, int]) -> list[Job]:
    """``units[model]`` units of each model (shards of one benchmark), as the runner plans them."""
    jobs = []
    for model, count in units.items():
        config = RunConfig(
            model="hf", model_args={}, benchmarks=("bbq",), output=tmp_path / model, model_name=model
        )
        jobs += [Job(config, Unit("bbq", k, count), "h") for k in range(count)]
    return jobs


def test_ray_scheduler_keeps_models_on_their_workers(tmp_path: Path) -> None:
    """Three fake GPUs for two models: each model gets a worker first, the bigger one the third; a unit
    goes only to a worker holding its model; a unit that raised retires its worker, a dead worker loses
    only its unit, and both are retried on a new worker of the same model."""
    from sosbench.run.executors import _ray

    ray = FakeRay({"CPU": 16.0, "fake_gpu": 3.0}, {"big:bbq[2-of-6]": "die", "small:bbq[0-of-2]": "raise"})
    executor = RayExecutor(gpus_per_unit=0, resources={"fake_gpu": 1.0}, retries=1)
    events = Recorder()
    run_events = Events(
        started=lambda job: None,
        finished=lambda job, info: events.done.append(job.key()),
        failed=lambda job, error, retry: events.failed.append((job.key(), retry)),
    )
    failures = _ray._Driver(ray, executor, run_events).run(fake_jobs(tmp_path, {"big": 6, "small": 2}))
    assert failures == []
    assert ray.request == {
        "num_cpus": 1.0,
        "num_gpus": 0,
        "resources": {"fake_gpu": 1.0},
        "max_restarts": 0,
        "max_task_retries": 0,
    }
    assert sorted(events.failed) == [("big:bbq[2-of-6]", True), ("small:bbq[0-of-2]", True)]
    assert sorted(events.done) == sorted(job.key() for job in fake_jobs(tmp_path, {"big": 6, "small": 2}))
    assert all(all(key.startswith(w.model) for key in w.ran) for w in ray.workers)  # one model per worker
    ran = Counter(key for w in ray.workers for key in w.ran)
    assert ran == {key: 2 if key in ("big:bbq[2-of-6]", "small:bbq[0-of-2]") else 1 for key in ran}
    by_model = Counter(w.model for w in ray.workers)
    assert by_model == {"big": 3, "small": 2}  # 2 at the start + 1 after the death; 1 + 1 after the raise
    assert [w.model for w in ray.workers[:3]] == ["big", "small", "big"]
    assert {w.state for w in ray.workers} == {"closed", "killed"}  # none left running
    assert sum(len(w.ran) for w in ray.workers) == 8 + 2
