"""The work of each benchmark, counted from the requests lm-eval would build (no engine runs)."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sosbench.errors import SosbenchError
from sosbench.run._config import RunConfig
from sosbench.suite import Benchmark

FULL_DATA_SHARE = 0.95
"""Data holding at least this share of the registry's size counts as the full benchmark."""
PROBE_DOCS = 2
"""Documents per task (of at most PROBE_TASKS tasks per benchmark) that the calibration probe runs."""
PROBE_TASKS = 2
PROBE_MAX_CONCURRENCY = 64
"""Generation requests the probe sends at once: the engine's own batch (vLLM: all, up to max_num_seqs;
transformers: its batch size), at most this many."""
DEFAULT_MAX_GEN_TOKS = 256  # lm-eval's default for hf and vllm when a task sets none


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


def _lm_base() -> type:
    from lm_eval.api.model import TemplateLM

    return TemplateLM


def request_recorder(tokenizer: Any, max_length: int, chat_template_args: Mapping[str, Any]) -> Any:
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


def engine_tokens(engine: str, pairs: Sequence[tuple[list[int], list[int]]], max_length: int) -> int:
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


def engine_of(config: RunConfig) -> str:
    """The engine the throughput model describes: sos-hf, hf, vllm (or the lm-eval model name)."""
    return config.model


def generation_budget(instance: Any) -> int:
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
        min(len(recorder.tok_encode(i.args[0])), max(1, max_length - generation_budget(i)))
        for i in generation
    ]
    count = _TaskCount(
        available=len(task.eval_docs),
        documents=len({i.doc_id for i in instances}),
        requests=len(instances),
        prompt_tokens=sum(len(c) + len(k) for c, k in pairs) + sum(prompts),
        engine_tokens=engine_tokens(engine, pairs, max_length),
        generation_requests=len(generation),
        generation_prompt_tokens=sum(prompts),
        generation_budget=sum(generation_budget(i) for i in generation),
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
        count, first, generated = _count_task(task, config.limit, recorder, engine_of(config), template)
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
