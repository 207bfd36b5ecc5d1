"""The throughput model's figures: reference ones per engine and device, or measured by ``--calibrate``."""

from __future__ import annotations

import json
import math
import struct
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from sosbench.errors import SosbenchError
from sosbench.run._config import RunConfig
from sosbench.run._cost._work import (
    PROBE_DOCS,
    PROBE_MAX_CONCURRENCY,
    BenchmarkWork,
    engine_of,
    engine_tokens,
    generation_budget,
    request_recorder,
)

PROBE_MAX_NEW_TOKENS = 256
"""The probe generates at most this many tokens per request; a longer answer counts as using its budget."""
PROBE_AUTO_BATCH = 8  # transformers models whose batch size is `auto` (sos-hf: its token budget)

# Uncalibrated reference figures per (engine, device): (prefill tok/s, decode tok/s, load s, parameters).
# CPU: SmolLM2-135M-Instruct float32 on the 2-core development machine (docs/engines.md, "Predicting
# the cost"). CUDA: the projection for an 8B model in bfloat16 on one H100 (same section). Other model
# sizes scale the token rates by parameters (compute per token is about 2 x parameters).
REFERENCE: dict[tuple[str, str], tuple[float, float, float, float]] = {
    ("sos-hf", "cpu"): (1500.0, 12.0, 2.0, 135e6),
    ("hf", "cpu"): (500.0, 12.0, 2.0, 135e6),
    ("vllm", "cpu"): (1000.0, 40.0, 30.0, 135e6),
    ("sos-hf", "cuda"): (25000.0, 250.0, 30.0, 8.0e9),
    ("hf", "cuda"): (12000.0, 250.0, 30.0, 8.0e9),
    ("vllm", "cuda"): (20000.0, 2500.0, 90.0, 8.0e9),
}


@dataclass(frozen=True)
class Rates:
    """One benchmark's own measured figures (its prompt lengths, sharing and batches are its own)."""

    prefill: float | None = None
    """Loglikelihood engine tokens per second."""
    prompts: float | None = None
    """Generation prompt tokens per second (no prompt logprobs, unlike loglikelihood requests)."""
    decode: float | None = None
    fill: float = 1.0
    """The share of its generation budget the model's answers used (1.0: the whole budget)."""


@dataclass(frozen=True)
class Throughput:
    """How fast one engine runs one model here; ``source`` says where the figures come from.

    The three figures apply to every benchmark; ``per_benchmark`` (from ``--calibrate``) replaces them
    for the benchmarks the probe ran.
    """

    prefill_tokens_per_s: float
    decode_tokens_per_s: float
    load_seconds: float
    source: str
    per_benchmark: Mapping[str, Rates] = field(default_factory=dict)

    def rates(self, benchmark: str) -> tuple[float, float, float, float]:
        """Prefill, generation prompt and decode tokens/s, and the fill, for one benchmark."""
        own = self.per_benchmark.get(benchmark, Rates())
        prefill = own.prefill or self.prefill_tokens_per_s
        return prefill, own.prompts or prefill, own.decode or self.decode_tokens_per_s, own.fill

    def summary(self) -> str:
        own = " (each benchmark its own where probed)" if self.per_benchmark else ""
        decode = f"decode {self.decode_tokens_per_s:,.1f} tok/s"
        return (
            f"prefill {self.prefill_tokens_per_s:,.0f} tok/s, {decode}{own}, model load "
            f"{self.load_seconds:.1f} s ({self.source})"
        )


def parse_throughput(text: str) -> Throughput:
    """``--throughput prefill=N,decode=N,load=S``: figures measured elsewhere (an earlier --calibrate)."""
    values: dict[str, float] = {}
    for part in text.split(","):
        key, _, value = part.partition("=")
        try:
            values[key.strip()] = float(value)
        except ValueError:
            values[key.strip()] = -1.0
    wanted = ("prefill", "decode", "load")
    if set(values) != set(wanted) or any(values[k] < 0 or (k != "load" and values[k] == 0) for k in wanted):
        raise SosbenchError(
            f"--throughput {text!r}: give prefill=<tokens/s>,decode=<tokens/s>,load=<seconds>, e.g. "
            "prefill=20000,decode=2500,load=90 (positive numbers; load may be 0)"
        )
    return Throughput(values["prefill"], values["decode"], values["load"], "given with --throughput")


def reference_throughput(engine: str, device: str, parameters: float | None) -> Throughput:
    """The uncalibrated figures for an engine on ``cpu`` or ``cuda``, scaled to the model's parameters."""
    kind = engine if engine in ("sos-hf", "vllm") else "hf"
    prefill, decode, load, reference = REFERENCE[(kind, device)]
    scale = reference / parameters if parameters else 1.0
    size = f"{parameters / 1e9:.2f}B parameters" if parameters else "parameters unknown, unscaled"
    where = "SmolLM2-135M on 2 CPU cores" if device == "cpu" else "an 8B model on one H100 (projection)"
    return Throughput(
        prefill * scale,
        decode * scale,
        load / scale if parameters else load,
        f"uncalibrated: {kind} reference for {where}, scaled to {size}; --calibrate measures them",
    )


def parameter_count(model_args: Mapping[str, Any]) -> float | None:
    """Parameters of a local safetensors checkpoint (from the file headers), else from its config."""
    pretrained = model_args.get("pretrained") or model_args.get("model")
    if not isinstance(pretrained, str):
        return None
    folder = Path(pretrained).expanduser()
    files = sorted(folder.glob("*.safetensors")) if folder.is_dir() else []
    if files:
        total = 0
        for path in files:
            with path.open("rb") as handle:
                size = struct.unpack("<Q", handle.read(8))[0]
                header = json.loads(handle.read(min(size, 100_000_000)))
            total += sum(math.prod(v["shape"]) for k, v in header.items() if k != "__metadata__")
        return float(total)
    try:
        from transformers import AutoConfig

        config = AutoConfig.from_pretrained(pretrained)
    except Exception:  # noqa: BLE001 - no config (API model, no cache offline): the figures stay unscaled
        return None
    config = getattr(config, "text_config", None) or config
    hidden = getattr(config, "hidden_size", None)
    layers = getattr(config, "num_hidden_layers", None)
    vocab = getattr(config, "vocab_size", None)
    if not (hidden and layers and vocab):
        return None
    heads = getattr(config, "num_attention_heads", 1) or 1
    kv = (getattr(config, "num_key_value_heads", None) or heads) * (hidden // heads)
    inner = getattr(config, "intermediate_size", None) or 4 * hidden
    per_layer = hidden * (2 * hidden + 2 * kv) + 3 * hidden * inner
    tied = bool(getattr(config, "tie_word_embeddings", False))
    return float(layers * per_layer + vocab * hidden * (1 if tied else 2))


def _timed(call: Callable[[], Any]) -> tuple[Any, float]:
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def _capped(instances: Iterable[Any], cap: int = PROBE_MAX_NEW_TOKENS) -> list[Any]:
    """Generation requests with at most ``cap`` new tokens each (same prompts)."""
    from lm_eval.api.instance import Instance

    capped = []
    for instance in instances:
        context, kwargs = instance.args[0], dict(instance.args[1])
        kwargs["max_gen_toks"] = min(generation_budget(instance), cap)
        capped.append(
            Instance(
                "generate_until",
                doc=instance.doc,
                arguments=(context, kwargs),
                idx=instance.idx,
                metadata=instance.metadata,
            )
        )
    return capped


def _concurrency(lm: Any, requests: Sequence[Any], tokenizer: Any) -> int:
    """How many of these generation requests the engine runs at once (the probe sends as many, at most 64)."""
    backend = lm.generation_backend() if getattr(lm, "generate_backend_name", None) else lm
    engine = getattr(getattr(backend, "model", None), "llm_engine", None)
    if engine is not None:  # vLLM: every request at once, up to max_num_seqs
        scheduler = getattr(getattr(engine, "vllm_config", None), "scheduler_config", None)
        return min(int(getattr(scheduler, "max_num_seqs", None) or 256), PROBE_MAX_CONCURRENCY)
    try:
        return min(max(1, int(getattr(backend, "batch_size", 1))), PROBE_MAX_CONCURRENCY)
    except (TypeError, ValueError):  # `auto`
        pass
    budget = getattr(backend, "max_batch_tokens", None)
    if budget:  # sos-hf: the rows that fit its token budget at the longest request
        longest = max(len(tokenizer.encode(i.args[0], add_special_tokens=False)) + generation_budget(i)
                      for i in requests)  # fmt: skip
        return min(max(1, int(budget) // max(1, longest)), PROBE_MAX_CONCURRENCY)
    return PROBE_AUTO_BATCH


def calibrate(
    config: RunConfig,
    works: Sequence[BenchmarkWork],
    tokenizer: Any,
    max_length: int,
    progress: Callable[[str], None],
) -> Throughput:
    """Load the real model through the run's own engine set-up; time a probe of each benchmark's first
    requests, and keep each benchmark's own rates (prompt lengths, prefix sharing and batches differ)."""
    from sosbench.run._lmeval import make_model

    progress(f"calibrating: loading {config.model} ...")
    lm, load = _timed(lambda: make_model(config))
    if getattr(lm, "generate_backend_name", None) and any(w.generation_requests for w in works):
        _, extra = _timed(lm.generation_backend)  # sos-hf's backend loads the weights a second time
        load += extra
    _warm_up(lm, works)

    def tokens(text: str) -> int:
        return len(tokenizer.encode(text, add_special_tokens=False))

    per_benchmark: dict[str, Rates] = {}
    totals = {"ll_tokens": 0.0, "ll_s": 0.0, "generated": 0.0, "decode_s": 0.0}
    for work in works:
        prefill = prompts = decode = None
        fill = 1.0
        if work.probe:
            progress(f"calibrating: {len(work.probe)} loglikelihood requests of {work.name} ...")
            _, seconds = _timed(partial(lm.loglikelihood, work.probe, disable_tqdm=True))
            engine = engine_tokens(
                engine_of(config), _encode_pairs(work.probe, tokenizer, max_length), max_length
            )
            prefill = engine / max(seconds, 1e-6)
            totals["ll_tokens"] += engine
            totals["ll_s"] += seconds
        pool = work.generation_probe
        if pool:
            batch = pool[: _concurrency(lm, pool, tokenizer)]
            # prompts alone on requests the batch does not hold (a prefix cache would hide the batch's)
            alone = pool[len(batch) : len(batch) + PROBE_DOCS] or pool[:PROBE_DOCS]
            progress(f"calibrating: {len(alone)} + {len(batch)} generation requests of {work.name} ...")
            _, seconds = _timed(partial(lm.generate_until, _capped(alone, 1), disable_tqdm=True))
            prompts = sum(tokens(i.args[0]) for i in alone) / max(seconds, 1e-6)
            capped = _capped(batch)
            answers, seconds = _timed(partial(lm.generate_until, capped, disable_tqdm=True))
            lengths = [tokens(answer) for answer in answers]
            decode_seconds = max(seconds - sum(tokens(i.args[0]) for i in batch) / prompts, 0.1 * seconds)
            decode = max(sum(lengths), 1) / decode_seconds
            totals["generated"] += sum(lengths)
            totals["decode_s"] += decode_seconds
            shares = [
                1.0 if n >= generation_budget(c) else n / generation_budget(i)
                for n, c, i in zip(lengths, capped, batch, strict=True)
            ]
            fill = sum(shares) / len(shares)
        per_benchmark[work.name] = Rates(prefill, prompts, decode, fill)
    prefill_all = totals["ll_tokens"] / totals["ll_s"] if totals["ll_s"] else REFERENCE[("hf", "cpu")][0]
    decode_all = (
        totals["generated"] / totals["decode_s"] if totals["decode_s"] else REFERENCE[("hf", "cpu")][1]
    )
    source = f"calibrated on {config.display_name()} with {config.model}"
    return Throughput(prefill_all, decode_all, load, source, per_benchmark)


def _warm_up(lm: Any, works: Sequence[BenchmarkWork]) -> None:
    """One untimed request of each kind: first calls pay for lazy set-up the run pays once too."""
    first = next((w.probe[0] for w in works if w.probe), None)
    if first is not None:
        lm.loglikelihood([first], disable_tqdm=True)
    generation = next((w.generation_probe[0] for w in works if w.generation_probe), None)
    if generation is not None:
        lm.generate_until(_capped([generation], 1), disable_tqdm=True)


def _encode_pairs(
    instances: Sequence[Any], tokenizer: Any, max_length: int
) -> list[tuple[list[int], list[int]]]:
    recorder = request_recorder(tokenizer, max_length, {})
    recorder.loglikelihood(list(instances), disable_tqdm=True)
    return list(recorder.pairs)
