"""`sosbench run`: evaluate a model on SOS-Bench through lm-eval (any lm-eval model type)."""

from __future__ import annotations

import contextlib
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sosbench.cli._common import (
    LIMIT_HELP,
    Benchmarks,
    DataDir,
    Factor,
    OutputFormat,
    Threads,
    check_format,
    console_err,
    set_threads,
)
from sosbench.cli._progress import UnitProgress
from sosbench.errors import SosbenchError

if TYPE_CHECKING:  # the run layer is imported only when a command runs
    from sosbench.run import Throughput
    from sosbench.run.executors import Executor

EXAMPLES = """
Examples:

  sosbench run --model hf --model-args pretrained=meta-llama/Meta-Llama-3-8B,dtype=bfloat16 -o runs/llama3

  sosbench run --model vllm --model-args pretrained=my/model,tensor_parallel_size=2 --factor Safety -o runs/m

  sosbench run --model hf --model-args pretrained=./m --benchmarks bbq,wmdp --data-dir mirror --limit 10 -o o

  sosbench run --models models.yaml --executor ray --ray-address auto -o runs   (runs/<model_name>/ per model)

  sosbench run --models models.yaml --executor slurm --slurm-partition gpu --slurm-time 720 -o runs

  sosbench run --model vllm --model-args pretrained=./m --data-dir mirror -o runs/m --dry-run --calibrate
"""


def run(
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="Run folder (created; rerun to resume). With --models: the parent of one folder per model.",
            envvar="SOSBENCH_OUTPUT",
        ),
    ],
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help="lm-eval model type: hf, vllm, sglang, local-completions, sos-hf, ...",
            envvar="SOSBENCH_MODEL",
        ),
    ] = None,
    model_args: Annotated[
        str | None,
        typer.Option(
            "--model-args", help="lm-eval's k=v,k2=v2 model arguments.", envvar="SOSBENCH_MODEL_ARGS"
        ),
    ] = None,
    model_arg: Annotated[
        list[str] | None,
        typer.Option(
            "--model-arg",
            help="One model argument key=value (YAML value; repeatable; may hold commas).",
            envvar="SOSBENCH_MODEL_ARG",
        ),
    ] = None,
    models: Annotated[
        Path | None,
        typer.Option(
            "--models",
            help="YAML or JSON list of model specs {model, model_args, model_name, ...} instead of "
            "--model; each gets OUTPUT/<model_name>/.",
            envvar="SOSBENCH_MODELS",
        ),
    ] = None,
    benchmarks: Benchmarks = None,
    factor: Factor = None,
    protocol: Annotated[
        str,
        typer.Option(
            "--protocol",
            help="paper (the paper's task definitions) or corrected (known defects fixed; see "
            "docs/tasks.md).",
            envvar="SOSBENCH_PROTOCOL",
        ),
    ] = "paper",
    limit: Annotated[
        float | None,
        typer.Option(
            "--limit",
            help=LIMIT_HELP,
            envvar="SOSBENCH_LIMIT",
        ),
    ] = None,
    batch_size: Annotated[
        str | None,
        typer.Option(
            "--batch-size",
            help="lm-eval batch size: N, auto or auto:N (default: 4 for hf, whose auto probes; auto "
            "elsewhere, a token budget for sos-hf; docs/engines.md).",
            envvar="SOSBENCH_BATCH_SIZE",
        ),
    ] = None,
    device: Annotated[
        str | None,
        typer.Option(
            "--device", help="Device for local models, e.g. cuda:0 or cpu.", envvar="SOSBENCH_DEVICE"
        ),
    ] = None,
    apply_chat_template: Annotated[
        bool,
        typer.Option(
            "--apply-chat-template",
            help="Use the model's chat template (LiveBench always uses it).",
            envvar="SOSBENCH_APPLY_CHAT_TEMPLATE",
        ),
    ] = False,
    chat_template: Annotated[
        str | None,
        typer.Option(
            "--chat-template",
            help="Name of one of the tokenizer's several chat templates (implies --apply-chat-template).",
            envvar="SOSBENCH_CHAT_TEMPLATE",
        ),
    ] = None,
    generate_backend: Annotated[
        str | None,
        typer.Option(
            "--generate-backend",
            help="With --model sos-hf: send generation requests to hf, vllm or sglang (loglikelihoods stay "
            "on sos-hf).",
            envvar="SOSBENCH_GENERATE_BACKEND",
        ),
    ] = None,
    gen_kwargs: Annotated[
        str | None,
        typer.Option(
            "--gen-kwargs",
            help="Override generation settings for generate tasks, e.g. max_gen_toks=256.",
            envvar="SOSBENCH_GEN_KWARGS",
        ),
    ] = None,
    data_dir: DataDir = None,
    wandb_args: Annotated[
        str | None,
        typer.Option(
            "--wandb-args",
            help="Log to W&B through lm-eval, e.g. project=sos,name=llama3.",
            envvar="SOSBENCH_WANDB_ARGS",
        ),
    ] = None,
    model_name: Annotated[
        str | None,
        typer.Option(
            "--model-name",
            help="Display name in scores and reports (default: last part of pretrained=).",
            envvar="SOSBENCH_MODEL_NAME",
        ),
    ] = None,
    sandbox: Annotated[
        str,
        typer.Option(
            "--sandbox",
            help="Where LiveBench coding answers run: bwrap (bubblewrap isolation, the default) or none "
            "(unsafe opt-out; flagged in every output).",
            envvar="SOSBENCH_SANDBOX",
        ),
    ] = "bwrap",
    threads: Threads = "auto",
    sandbox_memory: Annotated[
        str | None,
        typer.Option(
            "--sandbox-memory",
            help="Memory of each coding sandbox, all its processes together (e.g. 2G, 512M; default 2G).",
            envvar="SOSBENCH_SANDBOX_MEMORY",
        ),
    ] = None,
    sandbox_processes: Annotated[
        int | None,
        typer.Option(
            "--sandbox-processes",
            help="Processes and threads each coding sandbox may run at once (default: 64 with a cgroup "
            "per sandbox, 2 without one).",
            envvar="SOSBENCH_SANDBOX_PROCESSES",
        ),
    ] = None,
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite",
            help="Start over when OUTPUT holds a run with another configuration.",
            envvar="SOSBENCH_OVERWRITE",
        ),
    ] = False,
    executor: Annotated[
        str,
        typer.Option(
            "--executor",
            help="Where units run: local (this process), ray (Ray tasks), slurm (submitit job arrays), or "
            "an executor a plugin registers (`sosbench.executors` entry point; docs/scale.md).",
            envvar="SOSBENCH_EXECUTOR",
            rich_help_panel="Scale out",
        ),
    ] = "local",
    shards: Annotated[
        int | None,
        typer.Option(
            "--shards",
            help="Item shards for each large benchmark (BBQ, SaladBench, ...; default: the suite's value "
            "under ray/slurm, 1 locally).",
            envvar="SOSBENCH_SHARDS",
            rich_help_panel="Scale out",
        ),
    ] = None,
    retries: Annotated[
        int,
        typer.Option(
            "--retries",
            help="Times a failed unit is run again before the run reports it.",
            envvar="SOSBENCH_RETRIES",
            rich_help_panel="Scale out",
        ),
    ] = 1,
    executor_option: Annotated[
        list[str] | None,
        typer.Option(
            "--executor-option",
            help="One option of the chosen executor, NAME=VALUE (YAML value; repeatable), e.g. ray_workers=4 "
            "or a plugin executor's own (docs/scale.md).",
            envvar="SOSBENCH_EXECUTOR_OPTION",
            rich_help_panel="Scale out",
        ),
    ] = None,
    ray_address: Annotated[
        str | None,
        typer.Option(
            "--ray-address",
            help="Ray cluster to join (e.g. auto or ray://head:10001); default: start a local Ray instance.",
            envvar="SOSBENCH_RAY_ADDRESS",
            rich_help_panel="Scale out",
        ),
    ] = None,
    gpus_per_unit: Annotated[
        float | None,
        typer.Option(
            "--gpus-per-unit",
            help="GPUs each Ray worker asks for (default: 1 where CUDA is available, else 0).",
            envvar="SOSBENCH_GPUS_PER_UNIT",
            rich_help_panel="Scale out",
        ),
    ] = None,
    cpus_per_unit: Annotated[
        float | None,
        typer.Option(
            "--cpus-per-unit",
            help="CPUs each Ray worker or Slurm array task asks for (default: 1).",
            envvar="SOSBENCH_CPUS_PER_UNIT",
            rich_help_panel="Scale out",
        ),
    ] = None,
    slurm_partition: Annotated[
        str | None,
        typer.Option(
            "--slurm-partition",
            help="Slurm partition for the job arrays.",
            envvar="SOSBENCH_SLURM_PARTITION",
            rich_help_panel="Scale out",
        ),
    ] = None,
    slurm_time: Annotated[
        int | None,
        typer.Option(
            "--slurm-time",
            help="Time limit of each array task (one per model), in minutes (default: 1440).",
            envvar="SOSBENCH_SLURM_TIME",
            rich_help_panel="Scale out",
        ),
    ] = None,
    slurm_gpus: Annotated[
        int | None,
        typer.Option(
            "--slurm-gpus",
            help="GPUs per array task (default: 1).",
            envvar="SOSBENCH_SLURM_GPUS",
            rich_help_panel="Scale out",
        ),
    ] = None,
    slurm_max_parallel: Annotated[
        int | None,
        typer.Option(
            "--slurm-max-parallel",
            help="At most this many array tasks at once.",
            envvar="SOSBENCH_SLURM_MAX_PARALLEL",
            rich_help_panel="Scale out",
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Run nothing: print each benchmark's documents, requests, units, prompt tokens (the model's "
            "tokenizer), generation budget and predicted seconds (docs/engines.md, 'Predicting the cost').",
            envvar="SOSBENCH_DRY_RUN",
            rich_help_panel="Predict the cost",
        ),
    ] = False,
    calibrate: Annotated[
        bool,
        typer.Option(
            "--calibrate",
            help="With --dry-run: load the model and time a short probe of the run's first requests "
            "(prefill and decode tokens/s, load seconds) instead of reference figures.",
            envvar="SOSBENCH_CALIBRATE",
            rich_help_panel="Predict the cost",
        ),
    ] = False,
    throughput: Annotated[
        str | None,
        typer.Option(
            "--throughput",
            help="With --dry-run: figures measured elsewhere, prefill=<tok/s>,decode=<tok/s>,load=<s>.",
            envvar="SOSBENCH_THROUGHPUT",
            rich_help_panel="Predict the cost",
        ),
    ] = None,
    output_format: OutputFormat = "table",
) -> None:
    """Run SOS-Bench benchmarks on one model (or a list of models) through lm-eval, resumably."""
    from sosbench.run import RunConfig, check_limit, load_model_specs, parse_model_args, parse_throughput
    from sosbench.run.engines import default_batch_size
    from sosbench.suite import select

    check_format(output_format)
    if (calibrate or throughput) and not dry_run:
        raise SosbenchError("--calibrate and --throughput predict a run's cost: add --dry-run")
    if calibrate and throughput:
        raise SosbenchError(
            "give either --calibrate (measure here) or --throughput (figures measured elsewhere)"
        )
    given = parse_throughput(throughput) if throughput else None  # a bad figure fails before any loading

    flags = {
        "ray_address": ray_address,
        "gpus_per_unit": gpus_per_unit,
        "cpus_per_unit": cpus_per_unit,
        "slurm_partition": slurm_partition,
        "slurm_time": slurm_time,
        "slurm_gpus": slurm_gpus,
        "slurm_max_parallel": slurm_max_parallel,
    }
    runner = _executor(executor, output, retries, flags, executor_option or [])
    if (model is None) == (models is None):
        raise SosbenchError("give either --model (one model) or --models FILE (a list of model specs)")
    chosen = select(benchmarks, factor)
    template: bool | str = chat_template or apply_chat_template
    int_limit = check_limit(limit)
    base = RunConfig(
        model=model or "hf",
        model_args={},
        benchmarks=tuple(b.name for b in chosen),
        output=output,
        protocol=protocol,
        limit=int_limit,
        batch_size=batch_size or "auto",  # replaced per model below: a default can cost an import
        device=device,
        apply_chat_template=template,
        gen_kwargs=gen_kwargs,
        data_dir=data_dir,
        wandb_args=wandb_args,
        model_name=model_name,
        sandbox=sandbox,
        **_sandbox_limits(sandbox_memory, sandbox_processes),
    )
    if models is not None:
        if model_args or model_arg or model_name or generate_backend:
            raise SosbenchError(
                "--model-args, --model-arg, --model-name and --generate-backend go into the --models file"
            )
        specs = load_model_specs(models)
        if batch_size is None:  # each model type its own default (docs/engines.md, "Fast defaults")
            specs = [
                {**s, "batch_size": s.get("batch_size") or default_batch_size(s.get("model") or base.model)}
                for s in specs
            ]
        configs = _configs_from_specs(base, specs)
    else:
        args = parse_model_args(model_args, model_arg)
        if generate_backend is not None:
            if model != "sos-hf":
                raise SosbenchError(
                    "--generate-backend needs --model sos-hf (other models generate with their own backend)"
                )
            args["generate_backend"] = generate_backend
        configs = [replace(base, model_args=args, batch_size=batch_size or default_batch_size(base.model))]
    if runner.name == "local":  # Ray and Slurm units get --cpus-per-unit cores of their own
        set_threads(threads)
    if dry_run:
        _dry_run(configs, runner, shards=shards, calibrate=calibrate, throughput=given, fmt=output_format)
        return
    _execute(configs, runner, overwrite=overwrite, shards=shards)


def _dry_run(
    configs: list[Any],
    executor: Executor,
    *,
    shards: int | None,
    calibrate: bool,
    throughput: Throughput | None,
    fmt: str,
) -> None:
    """Count and predict each model's run (stdout: table, JSON or CSV); nothing is written."""
    from sosbench.run import describe_estimates, estimate

    console = console_err()
    with contextlib.redirect_stdout(sys.stderr):  # what lm-eval and engines print stays off the JSON
        estimates = [
            estimate(
                config,
                executor=executor.name,
                workers=getattr(executor, "workers", None),  # Ray's ray_workers: one model load each
                shards=shards,
                calibrated=calibrate,
                throughput=throughput,
                progress=lambda line: console.print(line, highlight=False),
            )
            for config in configs
        ]
    typer.echo(describe_estimates(estimates, fmt))


def _configs_from_specs(base: Any, specs: list[dict[str, Any]]) -> list[Any]:
    """One run config per model spec, each with its own folder OUTPUT/<model_name>/ (never outside OUTPUT)."""
    from sosbench.run import model_folder

    configs = []
    for spec in specs:
        config = replace(base, **spec)
        configs.append(replace(config, output=model_folder(base.output, config.display_name())))
    folders = [c.output for c in configs]
    clash = sorted({c.display_name() for c in configs if folders.count(c.output) > 1})
    if clash:
        raise SosbenchError(
            f"--models: two specs share the name {clash[0]!r}: give each a distinct model_name"
        )
    return configs


def _executor(name: str, output: Path, retries: int, flags: dict[str, Any], options: list[str]) -> Executor:
    """The executor ``name`` with its own options: those of ``flags`` it declares, and every
    ``--executor-option`` (an unknown executor or option name: one line naming the known ones)."""
    from sosbench.run.executors import ExecutorContext, build, parse_options

    if retries < 0:
        raise SosbenchError(f"--retries must be 0 or more, not {retries}")
    return build(name, ExecutorContext(output, retries), flags, parse_options(options))


def _execute(configs: list[Any], runner: Any, *, overwrite: bool, shards: int | None) -> None:
    from sosbench.run import RunHooks, execute_all

    console = console_err()
    progress = UnitProgress(console, live=runner.name != "local", several_models=len(configs) > 1)
    hooks = RunHooks(
        planned=progress.planned,
        unit_started=progress.started,
        unit_done=progress.finished,
        unit_failed=progress.unit_failed,
        benchmark_done=lambda c, b, s: progress.note(f"[green]finished[/] {c.display_name()}: {b.name}"),
    )
    try:
        manifests = execute_all(configs, runner, overwrite=overwrite, shards=shards, hooks=hooks)
    finally:
        if progress.bar is not None:
            progress.bar.stop()
    for config, manifest in zip(configs, manifests, strict=True):
        ran = [b for b in config.benchmarks if b in (manifest.timings or {})]
        console.print(
            f"{len(ran)} of {len(config.benchmarks)} benchmarks finished; results in {config.output}/"
        )
    folders = " ".join(str(c.output) for c in configs)
    console.print(f"score them with: sosbench score {folders}")


def register(app: typer.Typer) -> None:
    app.command("run", epilog=EXAMPLES)(run)


def _sandbox_limits(memory: str | None, processes: int | None) -> dict[str, int]:
    """RunConfig's sandbox fields from ``--sandbox-memory`` and ``--sandbox-processes``."""
    from sosbench.sandbox import SandboxLimits

    limits = SandboxLimits.from_options(memory, processes)
    return {"sandbox_memory": limits.memory_bytes, "sandbox_processes": limits.processes}
