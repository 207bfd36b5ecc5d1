"""Running one benchmark through lm-eval's Python API and writing lm-eval's own output files."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from sosbench.errors import SosbenchError, require
from sosbench.run._config import RunConfig
from sosbench.run._layout import RESULTS, write_jsonl
from sosbench.run._atomic import write_json_atomic
from sosbench.run._mirror import repo_folder
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
    extra = {"batch_size": config.batch_size, "device": config.device}
    return cls.create_from_arg_obj(dict(config.model_args), {k: v for k, v in extra.items() if v is not None})


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
    lm: Any, bench: Benchmark, config: RunConfig, manager: Any, tasks: list[str], staging: Path
) -> dict[str, Any]:
    """Evaluate one benchmark and write results.json and samples_<task>.jsonl into ``staging``."""
    import datasets
    import lm_eval
    from lm_eval.utils import handle_non_serializable

    datasets.disable_progress_bars()  # lm-eval's own bars show the progress that matters

    results = lm_eval.simple_evaluate(
        model=lm,
        tasks=tasks,
        task_manager=manager,
        limit=config.limit,
        log_samples=True,
        apply_chat_template=uses_chat_template(bench, config),
        gen_kwargs=config.gen_kwargs,
    )
    if results is None:  # lm-eval returns None on non-zero ranks of a distributed run
        return {}
    samples = results.pop("samples", {})
    _drop_wrapper(results, wrapper_group(bench))
    for task, rows in samples.items():
        write_jsonl(staging / f"samples_{task}.jsonl", rows, default=handle_non_serializable)
    write_json_atomic(staging / RESULTS, results, default=handle_non_serializable)
    if config.wandb_args:
        _log_wandb(config.wandb_args, results, samples)
    return results


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
