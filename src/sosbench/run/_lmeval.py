"""Running one benchmark through lm-eval's Python API and writing lm-eval's own output files."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sosbench._io import write_json_atomic
from sosbench.errors import SosbenchError, require
from sosbench.run._config import RunConfig
from sosbench.run._mirror import repo_folder
from sosbench.run._units import Unit, shard_doc_ids
from sosbench.rundir import RESULTS, write_samples
from sosbench.suite import Benchmark
from sosbench.tasks import definitions_dir


def make_model(config: RunConfig) -> Any:
    """Build the lm-eval model once for the whole run (any registered lm-eval model type).

    A model that cannot be loaded from what was given (a wrong ``pretrained=`` path or hub id, a
    tokenizer that is not there) is one line naming the argument, not transformers' long traceback.
    """
    from sosbench.run._preflight import check_engine, check_model_files

    check_engine(config.model, local=True, model_args=config.model_args)  # installed, known, loadable
    from lm_eval.api.registry import get_model

    model_args = config.plain_model_args()
    if config.model == VLLM:
        from sosbench.run.engines import vllm_model_args

        model_args = vllm_model_args(model_args)  # the CPU build's defaults (docs/engines.md)
    cls = get_model(config.model)
    extra = {"batch_size": config.batch_size, "device": config.device or _default_device(cls)}
    check_model_files(config.model, config.model_args)  # also on Ray and Slurm nodes
    try:
        return cls.create_from_arg_obj(model_args, {k: v for k, v in extra.items() if v is not None})
    except (
        OSError,
        ValueError,
    ) as exc:  # transformers' "not a local folder and not a valid model identifier"
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise SosbenchError(
            f"cannot load --model {config.model} with --model-args {_shown_args(config.model_args)}: {first}"
        ) from None


VLLM = "vllm"


def _shown_args(model_args: Mapping[str, Any]) -> str:
    """The model arguments for an error line, with anything that looks like a key left out."""
    return ",".join(f"{k}={'***' if 'key' in k or 'token' in k else v}" for k, v in model_args.items())


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


def prepare_tasks(
    benchmarks: list[Benchmark], config: RunConfig, workdir: Path
) -> tuple[Any, dict[str, list[str]]]:
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
    builtin = any(b.task_source == "lm-eval" for b in benchmarks)
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
    """Evaluate one benchmark (or shard) and write results.json and samples_<task>.jsonl into ``staging``."""
    import datasets
    import lm_eval
    from lm_eval.utils import handle_non_serializable

    datasets.disable_progress_bars()  # lm-eval's own bars show the progress that matters
    quiet_git_hash()

    selection = shard_selection(manager, tasks, config.limit, shard) if shard is not None else None
    try:
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
    except Exception as exc:
        explained = explain_endpoint_error(exc, lm, bench)
        if explained is None:
            raise
        raise explained from None
    if results is None:  # lm-eval returns None on non-zero ranks of a distributed run
        return {}
    samples = results.pop("samples", {})
    _drop_wrapper(results, wrapper_group(bench))
    for task, rows in samples.items():
        if selection is not None:  # drop the placeholder doc of a task with no item in this shard
            mine = selection[task]
            rows = [row for row in rows if isinstance(mine, _ShardIds) and row["doc_id"] in mine]
        write_samples(staging, task, rows, default=handle_non_serializable)
    write_json_atomic(staging / RESULTS, results, default=handle_non_serializable)
    if config.wandb_args and shard is None:  # a sharded benchmark is logged once, after the merge
        _log_wandb(config.wandb_args, results, samples)
    return results


def _git_commit_hash() -> str | None:
    """lm-eval's ``get_git_commit_hash`` (``git describe`` in the working directory, else a .git file read),
    with git's stderr captured: outside a git repository it printed ``fatal: not a git repository``."""
    try:
        described = subprocess.run(
            ["git", "describe", "--always"], capture_output=True, text=True, check=True
        )
    except (subprocess.CalledProcessError, FileNotFoundError):
        from lm_eval.loggers.utils import get_commit_from_path

        return get_commit_from_path(os.getcwd())
    return described.stdout.strip()


def quiet_git_hash() -> None:
    """Make lm-eval record the same ``git_hash`` without printing git's error on every benchmark."""
    import lm_eval.evaluator

    lm_eval.evaluator.get_git_commit_hash = _git_commit_hash


# Benchmarks that only generate (no prompt logprobs needed), named in the advice for endpoints without them.
GENERATION_EXAMPLES = "ifeval, math-lvl5, livebench-*"


def explain_endpoint_error(exc: BaseException, lm: Any, bench: Benchmark) -> SosbenchError | None:
    """One line for the two ways an OpenAI-compatible server is known to refuse lm-eval's requests.

    - A multiple-choice benchmark scores choices by prompt logprobs (``echo`` with ``logprobs``); a
      server without them answers ``400 Bad Request`` or a reply without ``logprobs`` (``KeyError``).
    - lm-eval sends ``"stop": []`` when the task has no stop sequence (IFEval) and it knows no EOS
      string (no tokenizer); some servers reject that with HTTP 500. ``eos_string=`` fixes it.
    Anything else (a server that is down, a timeout) is left as it is, to be retried.
    """
    try:
        from lm_eval.models.api_models import TemplateAPI
    except ImportError:
        return None
    if not isinstance(lm, TemplateAPI):
        return None
    url = lm.base_url
    body, status, reply = _failed_request(exc)
    if (isinstance(exc, KeyError) and exc.args == ("logprobs",)) or (
        body.get("echo") and status in (400, 422)
    ):
        said = f" (the server said: {reply})" if reply else ""
        return SosbenchError(
            f"the endpoint {url} returns no prompt logprobs, which {bench.name} needs to score its answer "
            f"choices{said}: run generation-only benchmarks against it ({GENERATION_EXAMPLES}), or serve the "
            "model where completions return echo+logprobs (such as llama.cpp's llama-server), "
            "or use --model hf"
        )
    if body.get("stop") == [] and status is not None:
        return SosbenchError(
            f"the endpoint {url} refused lm-eval's request for {bench.name} with an empty stop list "
            f'("stop": [], HTTP {status}): add eos_string=<the model\'s end-of-text token, e.g. </s>> to '
            "--model-args, or tokenizer=<its tokenizer> so lm-eval knows it"
        )
    return None


def _failed_request(exc: BaseException) -> tuple[dict[str, Any], int | None, str]:
    """The JSON body, HTTP status and first reply line of the ``requests`` call that raised ``exc``."""
    request = getattr(exc, "request", None)
    response = getattr(exc, "response", None)
    raw = getattr(request, "body", None)
    try:
        body = json.loads(raw) if raw else {}
    except (TypeError, ValueError):
        body = {}
    status = getattr(response, "status_code", None)
    text = getattr(response, "text", "") or ""
    reply = (text.strip().splitlines() or [""])[0][:200]
    return (body if isinstance(body, dict) else {}), status, reply


class _ShardIds(list[int]):
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
