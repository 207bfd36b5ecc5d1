"""What a run will cost before it starts (`sosbench run --dry-run`): the work, and a throughput model.

The work of each benchmark is counted from the requests lm-eval would send, built from the run's own
task definitions and data (the mirror with ``--data-dir``) and tokenized with the model's own tokenizer
by lm-eval's own pair encoding (:class:`_Recorder`): documents, requests, prompt tokens, the tokens the
engine runs (``sos-hf`` shares prefixes, ``hf`` shares one-token continuations' contexts, vLLM runs
each prompt whole), and the generation budget (requests x ``max_gen_toks``). Where the data holds fewer
documents than the suite registry says the benchmark has (a sample mirror), the counts are scaled up
to the registry's size and marked ``extrapolated``.

Time is predicted from four measured or stated figures (:class:`Throughput`): prefill tokens/s,
decode tokens/s, model load seconds, and the share of its generation budget a model uses.
``calibrate`` measures them on the real model and engine with a short probe of the run's own first
requests; without it, per-engine reference figures scaled by parameter count are used and say so.
Setting up each benchmark (loading its data and building its requests) is timed while counting and
is part of the prediction, since the run repeats it.
"""

from __future__ import annotations

import json
import math
import struct
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

from sosbench.errors import SosbenchError
from sosbench.run._config import RunConfig
from sosbench.suite import Benchmark

FULL_DATA_SHARE = 0.95
"""Data holding at least this share of the registry's size counts as the full benchmark."""
PROBE_DOCS = 2
"""Documents per task (of at most PROBE_TASKS tasks per benchmark) that the calibration probe runs."""
PROBE_TASKS = 2
PROBE_MAX_NEW_TOKENS = 256
"""The probe generates at most this many tokens per request; a longer answer counts as using its budget."""
PROBE_MAX_CONCURRENCY = 64
"""Generation requests the probe sends at once: the engine's own batch (vLLM: all, up to max_num_seqs;
transformers: its batch size), at most this many."""
PROBE_AUTO_BATCH = 8  # transformers models whose batch size is `auto` (sos-hf: its token budget)
DEFAULT_MAX_GEN_TOKS = 256  # lm-eval's default for hf and vllm when a task sets none
DEFAULT_MAX_LENGTH = 2048  # lm-eval's default context length when the model states none

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


COUNTED = (
    "documents",
    "requests",
    "prompt_tokens",
    "engine_tokens",
    "generation_requests",
    "generation_prompt_tokens",
    "generation_budget",
)


@dataclass
class BenchmarkWork:
    """What one benchmark asks of the engine on the data at hand, and how that scales to the full benchmark.

    ``full_scale`` is 1.0 where the data holds the documents a run on the full benchmark evaluates;
    on a sample (fewer documents than the registry's size) it is the factor to the full run.
    """

    name: str
    units: int
    documents: int = 0
    requests: int = 0
    prompt_tokens: int = 0
    engine_tokens: int = 0
    generation_requests: int = 0
    generation_prompt_tokens: int = 0
    generation_budget: int = 0
    load_seconds: float = 0.0
    """Loading the benchmark's tasks and data (once per run of it)."""
    build_seconds: float = 0.0
    """Building its requests (grows with the documents)."""
    full_scale: float = 1.0
    data_note: str = ""
    predicted_seconds: float = 0.0
    full_predicted_seconds: float = 0.0
    probe: list[Any] = field(default_factory=list, repr=False)
    """Loglikelihood requests the calibration probe runs (the first documents of the first tasks)."""
    generation_probe: list[Any] = field(default_factory=list, repr=False)
    """Generation requests the probe may run: the first ones of every task in turn."""

    @property
    def data(self) -> str:
        return "full" if self.full_scale == 1.0 else "sample"

    def scaled(self) -> BenchmarkWork:
        """The same benchmark on its full data (itself when the data is full)."""
        if self.full_scale == 1.0:
            return self
        counts = {name: round(getattr(self, name) * self.full_scale) for name in COUNTED}
        return replace(self, **counts, build_seconds=self.build_seconds * self.full_scale, full_scale=1.0)

    def row(self) -> dict[str, Any]:
        data = {"name": self.name, "units": self.units, **{name: getattr(self, name) for name in COUNTED}}
        data["setup_seconds"] = round(self.load_seconds + self.build_seconds, 2)
        data["predicted_seconds"] = round(self.predicted_seconds, 1)
        data["data"] = self.data
        if self.full_scale != 1.0:
            full = self.scaled()
            data["full"] = {
                "extrapolated": True,
                "note": self.data_note,
                **{name: getattr(full, name) for name in COUNTED},
                "predicted_seconds": round(self.full_predicted_seconds, 1),
            }
        return data


# ---------------------------------------------------------------------------- counting


def _lm_base() -> type:
    from lm_eval.api.model import TemplateLM

    return TemplateLM


def _recorder(tokenizer: Any, max_length: int, chat_template_args: Mapping[str, Any]) -> Any:
    """An lm-eval model that records what it is asked (token ids) instead of running anything.

    Built on lm-eval's ``TemplateLM`` so the context/continuation split, whitespace handling and
    empty-context rule are lm-eval's own; chat templates are rendered as ``HFLM`` renders them.
    """

    class _Recorder(_lm_base()):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.tokenizer = tokenizer
            self.pairs: list[tuple[list[int], list[int]]] = []

        @property
        def eot_token_id(self) -> int:
            return int(tokenizer.eos_token_id if tokenizer.eos_token_id is not None else 0)

        @property
        def max_length(self) -> int:
            return max_length

        def tok_encode(self, string: str, **kwargs: Any) -> list[int]:
            return list(tokenizer.encode(string, add_special_tokens=False))

        def _loglikelihood_tokens(self, requests: list[Any], **kwargs: Any) -> list[tuple[float, bool]]:
            self.pairs = [(list(context), list(continuation)) for _, context, continuation in requests]
            return [(0.0, False)] * len(requests)

        def loglikelihood_rolling(self, requests: list[Any], disable_tqdm: bool = False) -> list[float]:
            raise SosbenchError(
                "--dry-run cannot count loglikelihood_rolling tasks (no SOS-Bench task has them)"
            )

        def generate_until(self, requests: list[Any], disable_tqdm: bool = False) -> list[str]:
            return [""] * len(requests)

        def apply_chat_template(
            self, chat_history: list[dict[str, str]], add_generation_prompt: bool = True
        ) -> str:
            return str(
                tokenizer.apply_chat_template(
                    chat_history,
                    tokenize=False,
                    add_generation_prompt=add_generation_prompt,
                    continue_final_message=not add_generation_prompt,
                    **chat_template_args,
                )
            )

        @property
        def tokenizer_name(self) -> str:
            return str(getattr(tokenizer, "name_or_path", "")).replace("/", "__")

    return _Recorder()


def _engine_tokens(engine: str, pairs: Sequence[tuple[list[int], list[int]]], max_length: int) -> int:
    """Tokens the engine runs for these loglikelihood requests (padding left out)."""
    from sosbench.run.engines._plan import plan, planned_tokens, scoring_window

    if engine == "sos-hf":
        windows = [scoring_window(c, k, max_length) for c, k in pairs]
        return planned_tokens(plan(windows, 16))
    if engine == "vllm":  # the whole prompt, left-truncated, with prompt logprobs
        return sum(min(len(c) + len(k), max_length) for c, k in pairs)
    # hf (and lm-eval's other models): one window per request; one-token continuations of one context
    # share their window (lm-eval's logits cache)
    shared: set[tuple[int, ...]] = set()
    total = 0
    for context, continuation in pairs:
        window = (context + continuation)[-(max_length + 1) :][:-1]
        if len(continuation) == 1:
            if tuple(window) in shared:
                continue
            shared.add(tuple(window))
        total += len(window)
    return total


def _engine(config: RunConfig) -> str:
    """The engine the throughput model describes: sos-hf, hf, vllm (or the lm-eval model name)."""
    return config.model


def _generation_budget(instance: Any) -> int:
    kwargs = instance.args[1] if len(instance.args) > 1 and isinstance(instance.args[1], dict) else {}
    return int(kwargs.get("max_gen_toks", DEFAULT_MAX_GEN_TOKS))


@dataclass
class _TaskCount:
    available: int  # documents the data holds
    documents: int
    requests: int
    prompt_tokens: int
    engine_tokens: int
    generation_requests: int
    generation_prompt_tokens: int
    generation_budget: int
    build_seconds: float


def _count_task(
    task: Any, limit: int | float | None, recorder: Any, engine: str, template: bool | str
) -> tuple[_TaskCount, list[Any], list[Any]]:
    from lm_eval.evaluator_utils import get_sample_size

    started = time.monotonic()
    task.build_all_requests(
        limit=get_sample_size(task, limit),
        rank=0,
        world_size=1,
        apply_chat_template=bool(template),
        chat_template=recorder.apply_chat_template if template else None,
        tokenizer_name=recorder.tokenizer_name if template else "",
    )
    build = time.monotonic() - started
    instances = list(task.instances)
    loglikelihood = [i for i in instances if i.request_type == "loglikelihood"]
    generation = [i for i in instances if i.request_type == "generate_until"]
    recorder.loglikelihood(loglikelihood, disable_tqdm=True) if loglikelihood else None
    pairs = recorder.pairs if loglikelihood else []
    max_length = recorder.max_length
    prompts = [
        min(len(recorder.tok_encode(i.args[0])), max(1, max_length - _generation_budget(i)))
        for i in generation
    ]
    count = _TaskCount(
        available=len(task.eval_docs),
        documents=len({i.doc_id for i in instances}),
        requests=len(instances),
        prompt_tokens=sum(len(c) + len(k) for c, k in pairs) + sum(prompts),
        engine_tokens=_engine_tokens(engine, pairs, max_length),
        generation_requests=len(generation),
        generation_prompt_tokens=sum(prompts),
        generation_budget=sum(_generation_budget(i) for i in generation),
        build_seconds=build,
    )
    first = sorted({i.doc_id for i in instances})[:PROBE_DOCS]
    return count, [i for i in loglikelihood if i.doc_id in first], sorted(generation, key=lambda i: i.doc_id)


def _scale(task_counts: list[_TaskCount], bench: Benchmark, limit: int | float | None) -> tuple[float, str]:
    """The factor from the counted documents to a run on the full benchmark, and a note saying why."""
    available = sum(t.available for t in task_counts)
    counted = sum(t.documents for t in task_counts)
    if not counted or available >= FULL_DATA_SHARE * bench.size:
        return 1.0, ""
    full_per_doc = bench.size / available  # each available document stands for this many in the full data
    expected = 0.0
    for task in task_counts:
        full = task.available * full_per_doc
        if limit is None:
            expected += full
        else:
            cap = math.ceil(full * limit) if limit < 1 else limit
            expected += min(full, cap)
    factor = expected / counted
    if factor <= 1.0 + 1e-9:  # the data holds every document the run evaluates
        return 1.0, ""
    return (
        factor,
        f"{counted} of the {round(expected):,} documents a run evaluates are in the data "
        f"({available} of {bench.size:,} in all)",
    )


def count_benchmark(
    bench: Benchmark,
    tasks: Mapping[str, Any],
    config: RunConfig,
    recorder: Any,
    units: int,
    load_seconds: float,
) -> BenchmarkWork:
    """Count one benchmark's requests and tokens, scaled up to the registry's size from a sample."""
    from sosbench.run._lmeval import uses_chat_template

    template = uses_chat_template(bench, config)
    counts: list[_TaskCount] = []
    probe: list[Any] = []
    generation: list[list[Any]] = []
    for index, task in enumerate(tasks.values()):
        if config.gen_kwargs and task.get_config("output_type") == "generate_until":
            from lm_eval.utils import simple_parse_args_string

            task.set_config(
                key="generation_kwargs", value=simple_parse_args_string(config.gen_kwargs), update=True
            )
        count, first, generated = _count_task(task, config.limit, recorder, _engine(config), template)
        counts.append(count)
        generation.append(generated)
        if index < PROBE_TASKS:
            probe.extend(first)
    factor, note = _scale(counts, bench, config.limit)
    return BenchmarkWork(
        name=bench.name,
        units=units,
        **{name: sum(getattr(c, name) for c in counts) for name in COUNTED},
        load_seconds=load_seconds,
        build_seconds=sum(c.build_seconds for c in counts),
        full_scale=factor,
        data_note=note,
        probe=probe,
        generation_probe=_in_turn(generation, PROBE_MAX_CONCURRENCY + PROBE_DOCS),
    )


def _in_turn(lists: Sequence[Sequence[Any]], limit: int) -> list[Any]:
    """The first item of every list, then the second of every list, ..., at most ``limit`` in all."""
    picked: list[Any] = []
    for depth in range(max((len(items) for items in lists), default=0)):
        picked.extend(items[depth] for items in lists if depth < len(items))
        if len(picked) >= limit:
            break
    return picked[:limit]


# ---------------------------------------------------------------------------- the throughput model


def predicted_seconds(work: BenchmarkWork, throughput: Throughput) -> float:
    """Set-up + prompt tokens at the prefill rates + the expected generated tokens at the decode rate."""
    prefill, prompts, decode, fill = throughput.rates(work.name)
    setup = work.load_seconds + work.build_seconds
    return (
        setup
        + work.engine_tokens / prefill
        + work.generation_prompt_tokens / prompts
        + work.generation_budget * fill / decode
    )


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


# ---------------------------------------------------------------------------- calibration


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
        kwargs["max_gen_toks"] = min(_generation_budget(instance), cap)
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
        longest = max(len(tokenizer.encode(i.args[0], add_special_tokens=False)) + _generation_budget(i)
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
            engine = _engine_tokens(
                _engine(config), _encode_pairs(work.probe, tokenizer, max_length), max_length
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
                1.0 if n >= _generation_budget(c) else n / _generation_budget(i)
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
    recorder = _recorder(tokenizer, max_length, {})
    recorder.loglikelihood(list(instances), disable_tqdm=True)
    return list(recorder.pairs)


# ---------------------------------------------------------------------------- one model, one estimate


@dataclass
class Estimate:
    """The dry run of one model: its work per benchmark, the throughput model and the total."""

    config: RunConfig
    engine: str
    throughput: Throughput
    benchmarks: list[BenchmarkWork]
    finished: list[str]
    loads: int

    @property
    def predicted_seconds(self) -> float:
        """This run, on the data at hand."""
        return self.throughput.load_seconds * self.loads + sum(b.predicted_seconds for b in self.benchmarks)

    @property
    def full_predicted_seconds(self) -> float:
        """The same run on every benchmark's full data (equal to ``predicted_seconds`` on a full mirror)."""
        return self.throughput.load_seconds * self.loads + sum(
            b.full_predicted_seconds for b in self.benchmarks
        )

    @property
    def sampled(self) -> bool:
        return any(b.data == "sample" for b in self.benchmarks)

    def as_json(self) -> dict[str, Any]:
        return {
            "model": self.config.display_name(),
            "engine": self.engine,
            "output": str(self.config.output),
            "limit": self.config.limit,
            "throughput": {
                "prefill_tokens_per_s": round(self.throughput.prefill_tokens_per_s, 1),
                "decode_tokens_per_s": round(self.throughput.decode_tokens_per_s, 2),
                "load_seconds": round(self.throughput.load_seconds, 1),
                "source": self.throughput.source,
                "per_benchmark": {
                    name: {
                        "prefill_tokens_per_s": _rounded(rates.prefill),
                        "generation_prefill_tokens_per_s": _rounded(rates.prompts),
                        "decode_tokens_per_s": _rounded(rates.decode),
                        "generation_fill": round(rates.fill, 3),
                    }
                    for name, rates in self.throughput.per_benchmark.items()
                },
            },
            "model_loads": self.loads,
            "benchmarks": [b.row() for b in self.benchmarks],
            "already_finished": self.finished,
            "predicted_seconds": round(self.predicted_seconds, 1),
            "full_predicted_seconds": round(self.full_predicted_seconds, 1),
        }


def _tokenizer(config: RunConfig) -> tuple[Any, int]:
    """The model's own tokenizer (``tokenizer=`` or ``pretrained=``) and its context length."""
    from sosbench.errors import require

    require("transformers", "hf")
    from lm_eval.models.utils import resolve_max_length
    from transformers import AutoConfig, AutoTokenizer

    args = config.model_args
    source = args.get("tokenizer") or args.get("pretrained") or args.get("model")
    if not isinstance(source, str):
        raise SosbenchError(
            "--dry-run counts tokens with the model's tokenizer: give pretrained=<folder or hub id> "
            "(or tokenizer=) in --model-args"
        )
    extra = {"gguf_file": args["gguf_file"]} if args.get("gguf_file") else {}
    trust = bool(args.get("trust_remote_code", False))
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=trust, **extra)
    except (OSError, ValueError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise SosbenchError(f"--dry-run cannot load the tokenizer of {source}: {first}") from None
    stated = args.get("max_length") or args.get("max_model_len")
    if stated:
        return tokenizer, int(stated)
    try:
        model_config = AutoConfig.from_pretrained(
            args.get("pretrained") or source, trust_remote_code=trust, **extra
        )
    except (OSError, ValueError):
        model_config = None
    return tokenizer, resolve_max_length(model_config, tokenizer, default=DEFAULT_MAX_LENGTH)


def _device(config: RunConfig) -> str:
    if config.device:
        return "cpu" if config.device.startswith("cpu") else "cuda"
    try:
        import torch
    except ImportError:
        return "cpu"
    return "cuda" if torch.cuda.is_available() else "cpu"


def estimate(
    config: RunConfig,
    *,
    executor: str = "local",
    workers: int | None = None,
    shards: int | None = None,
    calibrated: bool = False,
    throughput: Throughput | None = None,
    progress: Callable[[str], None] = lambda _line: None,
) -> Estimate:
    """Count the work of one model's unfinished benchmarks and predict its time (nothing is written)."""
    from sosbench.run._lmeval import prepare_tasks
    from sosbench.run._preflight import check_data, check_engine
    from sosbench.run._runner import plan

    the_plan = plan(config, shards=shards, executor=executor)
    check_engine(config.model, local=calibrated, model_args=config.model_args)
    check_data(the_plan.todo, config.data_dir)
    if any(b.needs_punkt_tab for b in the_plan.todo):
        from sosbench.livebench import ensure_punkt_tab

        ensure_punkt_tab()  # as the run does: IFEval's task module needs it, offline
    tokenizer, max_length = _tokenizer(config)
    template_args = config.model_args.get("chat_template_args")
    recorder = _recorder(tokenizer, max_length, template_args if isinstance(template_args, Mapping) else {})
    works = []
    with tempfile.TemporaryDirectory(prefix="sosbench-dry-run-") as workdir:
        for bench in the_plan.todo:
            progress(f"counting {bench.name} ...")
            started = time.monotonic()
            manager, specs = prepare_tasks([bench], config, Path(workdir))
            tasks = manager.load(specs[bench.name])["tasks"]
            load_seconds = time.monotonic() - started
            units = the_plan.shards.get(bench.name, 1)
            works.append(count_benchmark(bench, tasks, config, recorder, units, load_seconds))
    if throughput is None:
        if calibrated:
            throughput = calibrate(config, works, tokenizer, max_length, progress)
        else:
            throughput = reference_throughput(
                _engine(config), _device(config), parameter_count(config.model_args)
            )
    for work in works:
        work.predicted_seconds = predicted_seconds(work, throughput)
        work.full_predicted_seconds = predicted_seconds(work.scaled(), throughput)
    # Each process that runs units loads the model once: the local executor's, the model's Slurm array
    # task, each Ray worker given the model (``workers``, at most one per unit; unset: the cluster decides,
    # counted as one).
    loads = min(sum(w.units for w in works), workers or 1) if works else 0
    return Estimate(config, _engine(config), throughput, works, [b.name for b in the_plan.done], loads)


def describe(estimates: Sequence[Estimate], fmt: str) -> str:
    """The dry run as a table, JSON or CSV (one row per benchmark)."""
    if fmt == "json":
        data = [e.as_json() for e in estimates]
        return json.dumps(
            data[0]
            if len(data) == 1
            else {"models": data, "predicted_seconds": round(sum(e.predicted_seconds for e in estimates), 1)},
            indent=2,
        )
    columns = (
        "documents",
        "requests",
        "units",
        "prompt_tokens",
        "generation_budget",
        "data",
        "predicted_seconds",
    )
    if fmt == "csv":
        import csv
        import io

        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(("model", "benchmark", *columns, "full_predicted_seconds"))
        for e in estimates:
            for b in e.benchmarks:
                cells = b.row()
                full = round(b.full_predicted_seconds, 1)
                writer.writerow((e.config.display_name(), b.name, *(cells[c] for c in columns), full))
        return buffer.getvalue().rstrip("\n")
    return "\n".join(line for e in estimates for line in _table(e))


def _table(e: Estimate) -> list[str]:
    """One model's dry run as text: a row per benchmark, the model load, the total, and what it rests on."""
    width = max([len("model load"), *(len(b.name) for b in e.benchmarks)])
    row = f"{{:{width}}} {{:>7}} {{:>8}} {{:>5}} {{:>11}} {{:>10}} {{:>9}}" + (
        " {:>11}" if e.sampled else "{}"
    )
    lines = [f"{e.config.display_name()} ({e.engine}): {len(e.benchmarks)} benchmark(s) to run"]
    lines.append(row.format("benchmark", "docs", "requests", "units", "prompt tok", "gen budget", "seconds",
                            "full data s" if e.sampled else ""))  # fmt: skip
    for b in e.benchmarks:
        full = (f"{b.full_predicted_seconds:,.0f}" if b.data == "sample" else "=") if e.sampled else ""
        lines.append(
            row.format(
                b.name, f"{b.documents:,}", f"{b.requests:,}", b.units, f"{b.prompt_tokens:,}",
                f"{b.generation_budget:,}", f"{b.predicted_seconds:,.1f}", full,
            )
        )  # fmt: skip
    load = f"{e.throughput.load_seconds * e.loads:,.1f}"
    lines.append(row.format("model load", "", "", e.loads, "", "", load, load if e.sampled else ""))
    full_total = f"{e.full_predicted_seconds:,.0f}" if e.sampled else ""
    lines.append(row.format("total", "", "", "", "", "", f"{e.predicted_seconds:,.1f}", full_total))
    lines.append(f"predicted: {_hours(e.predicted_seconds)} on this data" + (
        f", {_hours(e.full_predicted_seconds)} on the full benchmarks" if e.sampled else ""))  # fmt: skip
    lines.append(f"throughput: {e.throughput.summary()}")
    lines.append("gen budget: generation requests x max_gen_toks; the prediction uses the share the model "
                 "used in the probe (1.0 without --calibrate)")  # fmt: skip
    for b in e.benchmarks:
        if b.data_note:
            lines.append(f"{b.name}: a sample, extrapolated to the registry size: {b.data_note}")
    if e.finished:
        lines.append(f"already finished (not counted): {', '.join(e.finished)}")
    return lines


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.2f} h" if seconds >= 3600 else f"{seconds / 60:.1f} min"
