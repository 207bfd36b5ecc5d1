"""Shared measuring code of lm_eval_speed.py (CPU) and lm_eval_speed_gpu.py (GPU projection).

Both run the multiple-choice side of SOS-Bench on the sample data through lm-eval's ``hf`` model
(``batch_size=auto``) and through ``sos-hf`` on the *same* random model object, in one process,
and print tokens (padding included), wall time and their ratios. Tokens are counted by a forward
pre-hook on the model, so both engines are counted the same way; ``hf``'s automatic batch-size
probe (forward passes at the longest length) is counted apart from its scoring passes.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _sample_tasks

TOLERANCE = 1e-4  # per-request loglikelihood, float32


@dataclass
class Meter:
    """Tokens fed to the model per phase (rows x padded length of every forward call)."""

    phase: str = "idle"
    tokens: dict[str, int] = field(default_factory=dict)

    def hook(self, _module: Any, args: tuple, kwargs: dict) -> None:
        ids = kwargs.get("input_ids", args[0] if args else None)
        if ids is not None:
            self.tokens[self.phase] = self.tokens.get(self.phase, 0) + int(ids.numel())

    @contextmanager
    def counting(self, phase: str) -> Iterator[None]:
        previous, self.phase = self.phase, phase
        try:
            yield
        finally:
            self.phase = previous


@dataclass(frozen=True)
class EngineRun:
    name: str
    tokens: int
    probe_tokens: int
    seconds: float
    probe_seconds: float
    results: dict[str, Any]
    samples: dict[str, list[dict[str, Any]]]


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tasks", nargs="*", help="task names from benchmarks/_sample_tasks.py (default: all)"
    )
    parser.add_argument("--limit", type=int, default=None, help="documents per task (default: all samples)")
    parser.add_argument("--max-batch-tokens", type=int, default=8192, help="sos-hf token budget per batch")
    parser.add_argument(
        "--hf-max-batch-size",
        type=int,
        default=64,
        help="hf's max_batch_size for batch_size=auto (lm-eval default 64)",
    )


def evaluate(
    lm: Any, name: str, tasks: list[str], manager: Any, meter: Meter, limit: int | None
) -> EngineRun:
    """One lm-eval evaluation, timed; hf's batch-size probe is timed and counted apart."""
    import lm_eval

    probe_seconds = 0.0
    if hasattr(lm, "_detect_batch_size"):
        detect = lm._detect_batch_size

        def timed_probe(*args: Any, **kwargs: Any) -> int:
            nonlocal probe_seconds
            start = time.perf_counter()
            with meter.counting(f"{name}:probe"):
                size = detect(*args, **kwargs)
            probe_seconds += time.perf_counter() - start
            return size

        lm._detect_batch_size = timed_probe
    start = time.perf_counter()
    try:
        with meter.counting(name):
            out = lm_eval.simple_evaluate(
                model=lm, tasks=tasks, task_manager=manager, limit=limit, log_samples=True, bootstrap_iters=0
            )
    finally:
        vars(lm).pop("_detect_batch_size", None)  # back to the class's own method
    seconds = time.perf_counter() - start
    return EngineRun(
        name=name,
        tokens=meter.tokens.get(name, 0),
        probe_tokens=meter.tokens.get(f"{name}:probe", 0),
        seconds=seconds - probe_seconds,
        probe_seconds=probe_seconds,
        results=out["results"],
        samples=out["samples"],
    )


def compare(base: EngineRun, new: EngineRun) -> list[str]:
    """Differences in metrics or per-request (loglikelihood, greedy) between two runs; empty if equal."""
    problems = []
    worst = 0.0
    for task, metrics in base.results.items():
        for key, value in metrics.items():
            if key.startswith(("acc", "acc_norm")) and new.results[task].get(key) != value:
                problems.append(f"{task} {key}: hf {value} vs sos-hf {new.results[task].get(key)}")
    for task, rows in base.samples.items():
        for row, other in zip(rows, new.samples[task], strict=True):
            for (ll, greedy), (ll2, greedy2) in zip(_answers(row), _answers(other), strict=True):
                worst = max(worst, abs(ll - ll2))
                if greedy != greedy2 or not math.isclose(ll, ll2, abs_tol=TOLERANCE):
                    problems.append(f"{task} doc {row['doc_id']}: ({ll}, {greedy}) vs ({ll2}, {greedy2})")
    print(f"largest per-request loglikelihood difference: {worst:.2e} (tolerance {TOLERANCE:g})")
    return problems


def _answers(sample: dict[str, Any]) -> list[tuple[float, bool]]:
    return [(float(resp[0][0]), bool(resp[0][1])) for resp in sample["resps"]]


def report(base: EngineRun, new: EngineRun, extra_rate: bool = False) -> None:
    """The table: tokens, seconds and ratios; hf with and without its batch-size probe."""
    rows = [
        ("hf (batch_size=auto), scoring", base.tokens, base.seconds),
        ("hf, incl. batch-size probe", base.tokens + base.probe_tokens, base.seconds + base.probe_seconds),
        ("sos-hf", new.tokens, new.seconds),
    ]
    header = f"{'engine':34} {'tokens':>12} {'seconds':>9}"
    print(header + ("  tokens/s" if extra_rate else ""))
    for label, tokens, seconds in rows:
        rate = f"  {tokens / seconds:8.0f}" if extra_rate and seconds else ""
        print(f"{label:34} {tokens:12d} {seconds:9.2f}{rate}")
    for label, tokens, seconds in rows[:2]:
        print(
            f"sos-hf / {label}: tokens {new.tokens / tokens:.3f}, time {new.seconds / seconds:.3f} "
            f"(speed-up {seconds / new.seconds:.2f}x)"
        )


def families(tasks: list[str]) -> dict[str, list[str]]:
    """Sample tasks grouped by the SOS-Bench benchmark they stand for (e.g. all BBH subtasks -> bbh)."""
    grouped: dict[str, list[str]] = {}
    for task in tasks:
        grouped.setdefault(_sample_tasks.benchmark_of(task), []).append(task)
    return grouped


def run_pair(
    args: argparse.Namespace, model: Any, tokenizer: Any, device: str, per_benchmark: bool
) -> dict[str, tuple[EngineRun, EngineRun]]:
    """hf then sos-hf on the same model object and tasks: one evaluation, or one per benchmark."""
    import torch
    from lm_eval.api.registry import get_model

    from sosbench.run.engines import SOS_HF, register_models

    register_models()
    meter = Meter()
    manager, tasks = _sample_tasks.task_manager(Path(tempfile.mkdtemp(prefix="sos-speed-")), args.tasks)
    groups = families(tasks) if per_benchmark else {"all": tasks}
    common = {"pretrained": model, "tokenizer": tokenizer, "device": device}
    hf = get_model("hf")(batch_size="auto", max_batch_size=args.hf_max_batch_size, **common)
    sos = get_model(SOS_HF)(max_batch_tokens=args.max_batch_tokens, **common)
    with torch.no_grad():  # warm-up outside the measurements (allocator, kernels)
        model(input_ids=torch.ones((1, 16), dtype=torch.long, device=model.device))
    handle = model.register_forward_pre_hook(meter.hook, with_kwargs=True)
    pairs = {}
    try:
        for group, names in groups.items():
            base = evaluate(hf, f"hf:{group}", names, manager, meter, args.limit)
            before = sos.token_counts.tokens
            new = evaluate(sos, f"{SOS_HF}:{group}", names, manager, meter, args.limit)
            if new.tokens != sos.token_counts.tokens - before:
                raise RuntimeError(
                    f"hook counted {new.tokens} tokens, sos-hf {sos.token_counts.tokens - before}"
                )
            pairs[group] = (base, new)
    finally:
        handle.remove()
    return pairs


def run_batch_sizes(
    args: argparse.Namespace, model: Any, tokenizer: Any, device: str, hf_batch_sizes: list[str]
) -> tuple[list[EngineRun], EngineRun]:
    """``hf`` at each batch size (``auto`` probes, counted apart), then ``sos-hf`` at its defaults.

    All on the same model object, one evaluation each over the chosen tasks.
    """
    import torch
    from lm_eval.api.registry import get_model

    from sosbench.run.engines import SOS_HF, register_models

    register_models()
    meter = Meter()
    manager, tasks = _sample_tasks.task_manager(Path(tempfile.mkdtemp(prefix="sos-speed-")), args.tasks)
    common = {"pretrained": model, "tokenizer": tokenizer, "device": device}
    with torch.no_grad():  # warm-up outside the measurements (allocator, kernels)
        model(input_ids=torch.ones((1, 16), dtype=torch.long, device=model.device))
    handle = model.register_forward_pre_hook(meter.hook, with_kwargs=True)
    try:
        bases = []
        for size in hf_batch_sizes:
            hf = get_model("hf")(batch_size=size, max_batch_size=args.hf_max_batch_size, **common)
            bases.append(evaluate(hf, f"hf (batch_size={size})", tasks, manager, meter, args.limit))
        sos = get_model(SOS_HF)(max_batch_tokens=args.max_batch_tokens, **common)
        new = evaluate(sos, SOS_HF, tasks, manager, meter, args.limit)
    finally:
        handle.remove()
    return bases, new


def report_batch_sizes(bases: list[EngineRun], new: EngineRun) -> None:
    """One line per engine run (hf's probe apart), then sos-hf's ratios to each hf run."""
    print(f"{'engine':34} {'tokens':>12} {'seconds':>9}")
    for run in bases:
        print(f"{run.name + ', scoring':34} {run.tokens:12d} {run.seconds:9.2f}")
        if run.probe_tokens:
            print(
                f"{run.name + ', incl. probe':34} {run.tokens + run.probe_tokens:12d} "
                f"{run.seconds + run.probe_seconds:9.2f}"
            )
    print(f"{new.name:34} {new.tokens:12d} {new.seconds:9.2f}")
    for run in bases:
        tokens, seconds = run.tokens + run.probe_tokens, run.seconds + run.probe_seconds
        print(
            f"sos-hf / {run.name} (probe included): tokens {new.tokens / tokens:.3f}, "
            f"time {new.seconds / seconds:.3f} (speed-up {seconds / new.seconds:.2f}x)"
        )


def total(runs: list[EngineRun], name: str) -> EngineRun:
    """Several evaluations summed into one (metrics and samples merged)."""
    return EngineRun(
        name=name,
        tokens=sum(r.tokens for r in runs),
        probe_tokens=sum(r.probe_tokens for r in runs),
        seconds=sum(r.seconds for r in runs),
        probe_seconds=sum(r.probe_seconds for r in runs),
        results={k: v for r in runs for k, v in r.results.items()},
        samples={k: v for r in runs for k, v in r.samples.items()},
    )
