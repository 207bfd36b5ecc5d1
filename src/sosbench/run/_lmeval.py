"""Running one benchmark through lm-eval's Python API and writing lm-eval's own output files."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from sosbench.errors import SosbenchError, require
from sosbench.run._atomic import write_json_atomic
from sosbench.run._config import RunConfig
from sosbench.run._layout import RESULTS, write_jsonl
from sosbench.run._mirror import repo_folder
from sosbench.run._units import Unit, shard_doc_ids
from sosbench.suite import Benchmark, suggest
from sosbench.tasks import definitions_dir


def _register_engines() -> None:
    """sosbench's own lm-eval models (e.g. `sos-hf`), when that part of the package is present."""
    try:
        engines = importlib.import_module("sosbench.run.engines")
    except ModuleNotFoundError:
        return
    register = getattr(engines, "register_models", None)
    if register is not None:
        register()


def make_model(config: RunConfig) -> Any:
    """Build the lm-eval model once for the whole run (any registered lm-eval model type)."""
    require("lm_eval", "eval")
    from lm_eval.api.registry import MODEL_REGISTRY, get_model

    _register_engines()
    try:
        cls = get_model(config.model)
    except ValueError:
        close = suggest(config.model, sorted(MODEL_REGISTRY))
        hint = f"did you mean {', '.join(close)}?" if close else "see lm-eval's model types (hf, vllm, ...)"
        raise SosbenchError(f"unknown --model {config.model!r}: {hint}") from None
    extra = {"batch_size": config.batch_size, "device": config.device or _default_device(cls)}
    return cls.create_from_arg_obj(dict(config.model_args), {k: v for k, v in extra.items() if v is not None})


def _default_device(cls: type) -> str | None:
    """CUDA where torch has it, else CPU, for lm-eval's transformers models (hf, sos-hf).

    Their own default is "cuda" even on a CPU-only torch, which fails with a traceback on laptops and
    on CPU Ray workers. Other model types (vllm, API models) choose their device themselves.
    """
    try:
        from lm_eval.models.huggingface import HFLM
    except ImportError:  # no transformers: cls cannot be a transformers model
        return None
    if not issubclass(cls, HFLM):
        return None
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def task_overrides(bench: Benchmark, data_dir: Path | None) -> dict[str, Any]:
    """Config keys applied to every task of a benchmark: the mirror folder, or a pinned revision."""
    spec = bench.datasets[0]
    if data_dir is not None:
        return {"dataset_path": str(repo_folder(data_dir, spec.id).resolve())}
    if spec.revision:
        return {"dataset_kwargs": {"revision": spec.revision}}
    return {}


def wrapper_group(bench: Benchmark) -> str:
    return f"sosbench_{bench.name.replace('-', '_')}"


def prepare_tasks(benchmarks: list[Benchmark], config: RunConfig, workdir: Path) -> tuple[Any, dict[str, list[str]]]:
    """lm-eval's TaskManager and the task names to evaluate for each benchmark.

    Built-in tasks are indexed only when a benchmark needs them (indexing them all costs ~14 s).
    When a benchmark's tasks need overrides (the mirror's ``dataset_path``), a small group YAML is
    written to ``workdir`` that lists the benchmark's tasks and carries the overrides: lm-eval
    applies a group's extra keys to all of its member tasks, so the task definitions stay as
    they are and nothing reads the hub.
    """
    import yaml
    from lm_eval.tasks import TaskManager

    specs: dict[str, list[str]] = {}
    for bench in benchmarks:
        names = list(bench.lm_eval_tasks(config.protocol))
        overrides = task_overrides(bench, config.data_dir)
        if overrides:
            group = wrapper_group(bench)
            text = yaml.safe_dump({"group": group, "task": names, **overrides}, sort_keys=False)
            (workdir / f"{group}.yaml").write_text(text, encoding="utf-8")
            names = [group]
        specs[bench.name] = names
    builtin = any(not t.startswith(("sos_", "livebench")) for b in benchmarks for t in b.tasks)
    manager = TaskManager(include_path=[str(definitions_dir()), str(workdir)], include_defaults=builtin)
    return manager, specs


def uses_chat_template(bench: Benchmark, config: RunConfig) -> bool | str:
    """LiveBench is always generated with a chat template (the model's own unless one is named)."""
    if bench.engine == "livebench":
        return config.apply_chat_template or True
    return config.apply_chat_template


def evaluate(
    lm: Any,
    bench: Benchmark,
    config: RunConfig,
    manager: Any,
    tasks: list[str],
    staging: Path,
    shard: Unit | None = None,
) -> dict[str, Any]:
    """Evaluate one benchmark (or one shard of it) and write results.json and samples_<task>.jsonl into ``staging``."""
    import datasets
    import lm_eval
    from lm_eval.utils import handle_non_serializable

    datasets.disable_progress_bars()  # lm-eval's own bars show the progress that matters

    selection = shard_selection(manager, tasks, config.limit, shard) if shard is not None else None
    results = lm_eval.simple_evaluate(
        model=lm,
        tasks=tasks,
        task_manager=manager,
        limit=None if selection else config.limit,  # lm-eval takes either a limit or a doc selection
        samples=selection,
        log_samples=True,
        apply_chat_template=uses_chat_template(bench, config),
        gen_kwargs=config.gen_kwargs,
    )
    if results is None:  # lm-eval returns None on non-zero ranks of a distributed run
        return {}
    samples = results.pop("samples", {})
    _drop_wrapper(results, wrapper_group(bench))
    for task, rows in samples.items():
        if selection is not None:  # drop the placeholder doc of a task with no item in this shard
            mine = selection[task]
            rows = [row for row in rows if isinstance(mine, _ShardIds) and row["doc_id"] in mine]
        write_jsonl(staging / f"samples_{task}.jsonl", rows, default=handle_non_serializable)
    write_json_atomic(staging / RESULTS, results, default=handle_non_serializable)
    if config.wandb_args and shard is None:  # a sharded benchmark is logged once, after the merge
        _log_wandb(config.wandb_args, results, samples)
    return results


class _ShardIds(list):  # type: ignore[type-arg]
    """Sorted doc ids with O(1) membership: lm-eval tests ``i in samples`` for every doc of a task."""

    def __init__(self, ids: list[int]) -> None:
        super().__init__(ids)
        self._set = frozenset(ids)

    def __contains__(self, item: object) -> bool:
        return item in self._set


def shard_selection(manager: Any, tasks: list[str], limit: float | None, shard: Unit) -> dict[str, list[int]]:
    """lm-eval's ``samples=`` doc selection of one shard, for every leaf task of the benchmark.

    The items are those an unsharded run with the same ``limit`` evaluates. lm-eval reads an empty
    selection as "every doc", so a task with no item in this shard (fewer items than shards) runs
    its doc 0 as a placeholder, which is dropped from the shard's samples (``_ShardIds`` marks real
    selections). Shards give the unsharded results only when a doc's prompt does not depend on the
    other docs evaluated, so tasks with randomly drawn few-shot examples are refused.
    """
    from lm_eval.evaluator_utils import get_sample_size

    selection: dict[str, list[int]] = {}
    for name, task in manager.load(tasks)["tasks"].items():
        shots = task.get_config("num_fewshot") or 0
        fewshot = task.get_config("fewshot_config") or {}
        sampler = fewshot.get("sampler", "default") if isinstance(fewshot, dict) else fewshot.sampler
        if shots and sampler != "first_n":
            raise SosbenchError(
                f"task {name!r} draws {shots} few-shot examples at random, so its shards would not match an "
                "unsharded run: run its benchmark with --shards 1"
            )
        n_docs = get_sample_size(task, limit) or len(task.eval_docs)
        ids = shard_doc_ids(min(n_docs, len(task.eval_docs)), shard)
        selection[name] = _ShardIds(ids) if ids else [0]
    return selection


def _drop_wrapper(results: dict[str, Any], group: str) -> None:
    """Remove sosbench's mirror wrapper group, so results.json names only the benchmark's own tasks."""
    for section in results.values():
        if isinstance(section, dict):
            section.pop(group, None)


def _log_wandb(wandb_args: str, results: dict[str, Any], samples: dict[str, Any]) -> None:
    """Log through lm-eval's own W&B integration (same tables and artifacts as `lm_eval --wandb_args`)."""
    require("wandb", "wandb")
    from lm_eval.loggers import WandbLogger
    from lm_eval.utils import simple_parse_args_string

    logger = WandbLogger(init_args=simple_parse_args_string(wandb_args))
    logger.post_init(results)
    logger.log_eval_result()
    logger.log_eval_samples(samples)
