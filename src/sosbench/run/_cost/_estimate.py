"""One model's estimate: its benchmarks' work at the throughput model's rates, as a table, JSON or CSV."""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sosbench.errors import SosbenchError
from sosbench.run._config import RunConfig
from sosbench.run._cost._rates import Throughput, calibrate, parameter_count, reference_throughput
from sosbench.run._cost._work import BenchmarkWork, count_benchmark, engine_of, request_recorder

DEFAULT_MAX_LENGTH = 2048  # lm-eval's default context length when the model states none


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
    recorder = request_recorder(
        tokenizer, max_length, template_args if isinstance(template_args, Mapping) else {}
    )
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
                engine_of(config), _device(config), parameter_count(config.model_args)
            )
    for work in works:
        work.predicted_seconds = predicted_seconds(work, throughput)
        work.full_predicted_seconds = predicted_seconds(work.scaled(), throughput)
    # Each process that runs units loads the model once: the local executor's, the model's Slurm array
    # task, each Ray worker given the model (``workers``, at most one per unit; unset: the cluster decides,
    # counted as one).
    loads = min(sum(w.units for w in works), workers or 1) if works else 0
    return Estimate(config, engine_of(config), throughput, works, [b.name for b in the_plan.done], loads)


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
