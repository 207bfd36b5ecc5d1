"""sosbench's own lm-eval model types, registered lazily with lm-eval's model registry.

``register_models()`` adds ``sos-hf`` (lm-eval's ``hf`` model with shared-prefix key/value reuse
and token-budget batches, see docs/engines.md). Importing this package imports neither torch nor
lm-eval; the model module loads only when lm-eval first builds an ``sos-hf`` model.
"""

from __future__ import annotations

from sosbench.run.engines._random_model import LLAMA3_8B, RandomModelSpec, build_random_model

SOS_HF = "sos-hf"
_TARGET = "sosbench.run.engines._prefix_cache_hf:PrefixCacheHFLM"

__all__ = ["LLAMA3_8B", "SOS_HF", "RandomModelSpec", "build_random_model", "register_models"]


def register_models() -> None:
    """Register ``sos-hf`` with lm-eval (idempotent: a second call changes nothing)."""
    from sosbench.errors import require

    require("lm_eval", "eval")
    # lm-eval fills its registry with its own models only while the registry is empty, so they
    # must be in before ours or `hf`, `vllm`, ... would disappear.
    import lm_eval.models  # noqa: F401
    from lm_eval.api.registry import model_registry

    if SOS_HF not in model_registry:
        model_registry.register(SOS_HF, target=_TARGET)
