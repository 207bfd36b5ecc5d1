"""Fail fast, in one line, when a run's data cannot be had (before any model is loaded)."""

from __future__ import annotations

import functools
import importlib
import os
import re
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sosbench.errors import SosbenchError, require
from sosbench.run._config import RunConfig
from sosbench.run._mirror import HUB_PROBE_TIMEOUT_S, missing_from_mirror
from sosbench.suite import Benchmark, suggest

OFFLINE_VARS = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")

# The extra that installs an lm-eval model type, and the modules it needs beyond the [eval] ones. Any
# other type (local-completions, openai-chat-completions, ...) needs only [eval], which has lm-eval[api].
ENGINE_EXTRAS: dict[str, tuple[str, tuple[str, ...]]] = {
    "hf": ("hf", ("torch", "transformers")),
    "sos-hf": ("hf", ("torch", "transformers")),
    "vllm": ("vllm", ("vllm",)),
}
EVAL_MODULES = ("lm_eval", "datasets")


def check_engine(model: str, *, local: bool, model_args: Mapping[str, Any] | None = None) -> None:
    """One line naming the extra to install when the run's packages are missing (before anything is written).

    The extra is the one for the model type (``[hf]`` for hf, which brings torch), not just ``[eval]``.
    Modules are looked up, not imported, so the check costs nothing before a fail-fast data check. The
    model's own modules are checked only where it loads (the local executor); Ray and Slurm workers
    load it on their nodes. Checkpoints an engine cannot read (a GGUF file for vLLM) and torch
    companions that cannot load (CUDA torchvision beside a CPU torch) are refused here too.
    """
    from sosbench.run.engines import check_torch_companions, refuse_gguf

    args = model_args or {}
    if model == "vllm":
        refuse_gguf(args, "--model vllm")
    elif args.get("generate_backend") == "vllm":
        refuse_gguf({"gguf_file": args.get("gguf_file")}, f"--model {model} --generate-backend vllm")
    extra, engine_modules = ENGINE_EXTRAS.get(model, ("eval", ()))
    for module in (*EVAL_MODULES, *(engine_modules if local else ())):
        require(module, extra)
    check_model_type(model)
    if local and model in ENGINE_EXTRAS:
        check_torch_companions()


def register_engines() -> None:
    """sosbench's own lm-eval models (e.g. `sos-hf`), when that part of the package is present."""
    try:
        engines = importlib.import_module("sosbench.run.engines")
    except ModuleNotFoundError:
        return
    register = getattr(engines, "register_models", None)
    if register is not None:
        register()


# Model arguments that name local folders or hub ids of weights and tokenizers.
PATH_ARGS = ("pretrained", "tokenizer", "peft", "delta")
LOCAL_ENGINES = ("hf", "sos-hf", "vllm", "sglang", "hf-auto", "hf-multimodal")
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?$")


def check_model_files(model: str, model_args: Mapping[str, Any]) -> None:
    """One line, before anything is written or loaded, when a local model's weights cannot be where given.

    A ``.gguf`` file given as ``pretrained`` gets how to load or convert it. A name that is no local folder
    and cannot be a hub id (``runs/models/m``) is a typo of a path; a hub id that is not in the local hub
    cache while the hub is offline or unreachable would otherwise fail after transformers' retries.
    """
    if model not in LOCAL_ENGINES:
        return
    for key in PATH_ARGS:
        value = model_args.get(key)
        if not isinstance(value, str) or not value:
            continue
        path = Path(value).expanduser()
        if value.lower().endswith(".gguf"):
            folder = path.parent if str(path.parent) not in ("", ".") else Path(".")
            raise SosbenchError(
                f"--model-args {key}={value} is a GGUF file: load it with "
                f"{key}={folder},gguf_file={path.name} (dequantized on every load), or convert it once: "
                f"`sosbench model convert {value} DIR`, then {key}=DIR"
            )
        if path.exists():
            continue
        if value.startswith(("/", "./", "../", "~")) or not _HUB_ID.match(value):
            raise SosbenchError(
                f"--model-args {key}={value}: no such folder (relative to {Path.cwd()}); "
                "give the model's folder or its hub id (owner/name)"
            )
        if _model_cached(value):
            continue
        offline = any(_truthy(v) for v in (*OFFLINE_VARS, "TRANSFORMERS_OFFLINE"))
        if offline or not hub_reachable():
            why = "offline mode is on" if offline else "the hub is unreachable"
            raise SosbenchError(
                f"--model-args {key}={value}: no such folder here, and {value} is not in the hub cache while "
                f"{why}: check the path, or download the model where the hub is reachable"
            )


def _model_cached(repo_id: str) -> bool:
    """Whether the local hub cache holds a model's config (what transformers reads first)."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    try:
        found = try_to_load_from_cache(repo_id, "config.json")
    except Exception:  # noqa: BLE001 - an id the cache cannot even look up is not cached
        return False
    return isinstance(found, str)


def check_model_type(model: str) -> None:
    """One line for a model type lm-eval does not know (a typo), before a run writes or loads anything.

    lm-eval's registry holds names, not classes, until one is used, so this imports no engine.
    """
    register_engines()
    from lm_eval.api.registry import model_registry

    if model not in model_registry:
        close = suggest(model, sorted(model_registry.keys()))
        hint = f"did you mean {', '.join(close)}?" if close else "see lm-eval's model types (hf, vllm, ...)"
        raise SosbenchError(f"unknown --model {model!r}: {hint}")


def _truthy(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def hub_reachable(timeout: float = HUB_PROBE_TIMEOUT_S) -> bool:
    """One short request to the hub, so an unreachable hub costs seconds, not minutes of retries.

    Asked once per endpoint and process: a run's checks of the model and of the data (and the model's
    load after them) would otherwise each wait out the timeout of an unreachable hub.
    """
    return _probe(os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/"), timeout)


@functools.cache
def _probe(endpoint: str, timeout: float) -> bool:
    try:
        urllib.request.urlopen(
            urllib.request.Request(f"{endpoint}/api/whoami-v2", method="HEAD"), timeout=timeout
        )
    except urllib.error.HTTPError:
        return True  # the hub answered (401 without a token)
    except (OSError, ValueError):
        return False
    return True


def go_offline() -> None:
    """Make `datasets` and `huggingface_hub` stop trying the network, even if already imported."""
    for name in OFFLINE_VARS:
        os.environ[name] = "1"
    if "huggingface_hub" in sys.modules:
        sys.modules["huggingface_hub"].constants.HF_HUB_OFFLINE = True
    if "datasets" in sys.modules:
        sys.modules["datasets"].config.HF_HUB_OFFLINE = True


def _pull_hint(data_dir: Path | str, names: Sequence[str]) -> str:
    return f"`sosbench data pull --data-dir {data_dir} --benchmarks {','.join(names)}`"


def check_data(benchmarks: Sequence[Benchmark], data_dir: Path | None) -> None:
    """Raise one line naming the benchmark, the dataset and the pull command if data is missing."""
    if data_dir is not None:
        missing = missing_from_mirror(data_dir, benchmarks)
        if missing:
            bench, dataset = missing[0]
            more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
            names = list(dict.fromkeys(b for b, _ in missing))
            raise SosbenchError(
                f"benchmark {bench!r} needs dataset {dataset}, which is not in the mirror {data_dir}{more}: "
                f"run {_pull_hint(data_dir, names)}"
            )
        return
    if not (any(_truthy(v) for v in OFFLINE_VARS) or not hub_reachable()):
        return
    go_offline()
    uncached = [
        (b.name, spec) for b in benchmarks for spec in b.datasets if not _cached(spec.id, spec.configs)
    ]
    if uncached:
        bench, spec = uncached[0]
        more = f" (and {len(uncached) - 1} more)" if len(uncached) > 1 else ""
        names = list(dict.fromkeys(b for b, _ in uncached))
        raise SosbenchError(
            f"benchmark {bench!r} needs dataset {spec.id}, which is not cached and the hub is offline or "
            f"unreachable{more}: run {_pull_hint('MIRROR', names)} where the hub is reachable, "
            "then pass --data-dir MIRROR"
        )


def _runs_code(benchmarks: Sequence[Benchmark]) -> bool:
    return any(b.livebench is not None and b.livebench.category == "coding" for b in benchmarks)


def check_sandbox(benchmarks: Sequence[Benchmark], sandbox: str) -> None:
    """Code tasks fail before any model loads where their sandbox cannot start (one line: what to install)."""
    if _runs_code(benchmarks):
        from sosbench.sandbox import SandboxMode, check_available

        check_available(SandboxMode.of(sandbox))


def sandbox_record(benchmarks: Sequence[Benchmark], config: RunConfig) -> dict[str, Any] | None:
    """What the manifest says of the coding sandboxes (None without a coding benchmark): their mode, how
    their budget holds here (cgroup or rlimit; each score row says so for its own host) and its size."""
    if not _runs_code(benchmarks):
        return None
    from sosbench.sandbox import SandboxMode, check_available

    limits = config.sandbox_limits()
    try:
        budget = check_available(SandboxMode.of(config.sandbox))
    except SosbenchError:  # nothing left to run here: the preflight did not ask for a sandbox
        budget = None
    return {
        "mode": config.sandbox,
        "budget": budget,
        "memory_bytes": limits.memory(),
        "processes": limits.process_count(budget or "rlimit"),
    }


def sandbox_problem() -> str | None:
    """Why the coding sandbox cannot start here, with what to install, or None when it can."""
    from sosbench.sandbox import SandboxMode, check_available

    try:
        check_available(SandboxMode.BWRAP)
    except SosbenchError as exc:
        return str(exc)
    return None


def _cached(dataset_id: str, configs: Sequence[str | None]) -> bool:
    """Whether `datasets` can load every config from its local cache alone."""
    import datasets

    for config in configs:
        try:
            datasets.load_dataset_builder(dataset_id, name=config)
        except Exception:  # noqa: BLE001 - any failure offline means "not usable from the cache"
            return False
    return True
