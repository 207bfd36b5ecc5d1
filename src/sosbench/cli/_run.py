"""`sosbench run`: evaluate a model on SOS-Bench through lm-eval (any lm-eval model type)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from sosbench.cli._common import Benchmarks, DataDir, Factor, console_err
from sosbench.errors import SosbenchError

EXAMPLES = """
Examples:

  sosbench run --model hf --model-args pretrained=meta-llama/Meta-Llama-3-8B,dtype=bfloat16 --output runs/llama3

  sosbench run --model vllm --model-args pretrained=my/model,tensor_parallel_size=2 --factor Safety -o runs/m

  sosbench run --model hf --model-args pretrained=./m --benchmarks bbq,wmdp --data-dir mirror --limit 10 -o out
"""


def run(
    model: Annotated[str, typer.Option("--model", "-m", help="lm-eval model type: hf, vllm, sglang, local-completions, sos-hf, ...", envvar="SOSBENCH_MODEL")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Run folder (created; rerun to resume).", envvar="SOSBENCH_OUTPUT")],
    model_args: Annotated[Optional[str], typer.Option("--model-args", "-a", help="lm-eval's k=v,k2=v2 model arguments.", envvar="SOSBENCH_MODEL_ARGS")] = None,
    model_arg: Annotated[Optional[list[str]], typer.Option("--model-arg", help="One model argument key=value (YAML value; repeatable; may hold commas).")] = None,
    benchmarks: Benchmarks = None,
    factor: Factor = None,
    protocol: Annotated[str, typer.Option("--protocol", help="paper (the paper's task definitions) or corrected (known defects fixed; see docs/tasks.md).", envvar="SOSBENCH_PROTOCOL")] = "paper",
    limit: Annotated[Optional[float], typer.Option("--limit", help="At most N items per task (a fraction if < 1). For testing only.", envvar="SOSBENCH_LIMIT")] = None,
    batch_size: Annotated[str, typer.Option("--batch-size", help="lm-eval batch size: N, auto or auto:N.", envvar="SOSBENCH_BATCH_SIZE")] = "auto",
    device: Annotated[Optional[str], typer.Option("--device", help="Device for local models, e.g. cuda:0 or cpu.", envvar="SOSBENCH_DEVICE")] = None,
    apply_chat_template: Annotated[bool, typer.Option("--apply-chat-template", help="Use the model's chat template (LiveBench always uses it).", envvar="SOSBENCH_APPLY_CHAT_TEMPLATE")] = False,
    chat_template: Annotated[Optional[str], typer.Option("--chat-template", help="Name of one of the tokenizer's several chat templates (implies --apply-chat-template).", envvar="SOSBENCH_CHAT_TEMPLATE")] = None,
    generate_backend: Annotated[Optional[str], typer.Option("--generate-backend", help="With --model sos-hf: send generation requests to hf, vllm or sglang (loglikelihoods stay on sos-hf).", envvar="SOSBENCH_GENERATE_BACKEND")] = None,
    gen_kwargs: Annotated[Optional[str], typer.Option("--gen-kwargs", help="Override generation settings for generate tasks, e.g. max_gen_toks=256.", envvar="SOSBENCH_GEN_KWARGS")] = None,
    data_dir: DataDir = None,
    wandb_args: Annotated[Optional[str], typer.Option("--wandb-args", help="Log to W&B through lm-eval, e.g. project=sos,name=llama3.", envvar="SOSBENCH_WANDB_ARGS")] = None,
    model_name: Annotated[Optional[str], typer.Option("--model-name", help="Display name in scores and reports (default: last part of pretrained=).", envvar="SOSBENCH_MODEL_NAME")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Start over when OUTPUT holds a run with another configuration.")] = False,
) -> None:
    """Run SOS-Bench benchmarks on one model through lm-eval, resumably."""
    from sosbench.run import RunConfig, execute, parse_model_args
    from sosbench.suite import select

    chosen = select(benchmarks, factor)
    template: bool | str = chat_template or apply_chat_template
    args = parse_model_args(model_args, model_arg)
    if generate_backend is not None:
        if model != "sos-hf":
            raise SosbenchError("--generate-backend needs --model sos-hf (other models generate with their own backend)")
        args["generate_backend"] = generate_backend
    int_limit: int | float | None = int(limit) if limit is not None and limit >= 1 else limit
    config = RunConfig(
        model=model,
        model_args=args,
        benchmarks=tuple(b.name for b in chosen),
        output=output,
        protocol=protocol,
        limit=int_limit,
        batch_size=batch_size,
        device=device,
        apply_chat_template=template,
        gen_kwargs=gen_kwargs,
        data_dir=data_dir,
        wandb_args=wandb_args,
        model_name=model_name,
    )
    console = console_err()
    from sosbench.run import plan

    skipped = plan(config, overwrite=overwrite).done
    if skipped:
        console.print(f"{len(skipped)} already finished (skipped): {', '.join(b.name for b in skipped)}")
    manifest = execute(
        config,
        overwrite=overwrite,
        on_start=lambda b, i, n: console.rule(f"[bold]{b.name}[/] ({i + 1}/{n}, {b.factor})"),
        on_done=lambda b, s: console.print(f"[green]done[/] {b.name} in {s:.1f} s"),
    )
    ran = [b for b in config.benchmarks if b in manifest["timings"]]
    console.print(f"{len(ran)} of {len(config.benchmarks)} benchmarks finished; results in {output}/")
    console.print(f"score them with: sosbench score {output}")


def register(app: typer.Typer) -> None:
    app.command("run", epilog=EXAMPLES)(run)
