"""`sosbench data`: the offline dataset mirror for air-gapped clusters."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sosbench.cli._common import Benchmarks, Factor, console_err
from sosbench.errors import SosbenchError

data_app = typer.Typer(
    help="Mirror the datasets of SOS-Bench into plain folders, and check a mirror offline.",
    no_args_is_help=True,
)

MirrorDir = Annotated[Path, typer.Option("--data-dir", help="The mirror folder.", envvar="SOSBENCH_DATA_DIR")]


@data_app.command("pull", epilog="Example: sosbench data pull --data-dir /shared/sos-mirror --factor Safety")
def pull(
    data_dir: MirrorDir,
    benchmarks: Benchmarks = None,
    factor: Factor = None,
    source: Annotated[
        Path | None,
        typer.Option(
            "--from", help="Copy from another mirror instead of the hub.", envvar="SOSBENCH_DATA_PULL_FROM"
        ),
    ] = None,
) -> None:
    """Download every dataset a selection needs (pinned revisions) into DATA_DIR."""
    from sosbench.run import pull as do_pull
    from sosbench.suite import select

    console = console_err()
    with console.status("pulling") as status:
        copied = do_pull(
            data_dir,
            select(benchmarks, factor),
            source=source,
            on_file=lambda f: status.update(f"pulling {f}"),
        )
    check = f"sosbench data verify --data-dir {data_dir}"
    console.print(f"{len(copied)} dataset(s) copied; mirror at {data_dir} (check it with `{check}`)")


ADD_EXAMPLES = """
Examples (one split per file, named by the file: test.jsonl is split test):

  sosbench data add --data-dir mirror --dataset walledai/XSTest xstest/test.jsonl

  sosbench data add --data-dir mirror --dataset cais/wmdp --config wmdp-bio --split test bio.parquet

  sosbench data add --data-dir mirror --dataset walledai/BBQ bbq/age.jsonl bbq/religion.jsonl
"""


@data_app.command("add", epilog=ADD_EXAMPLES)
def add(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="JSONL, JSON, Parquet or CSV files with the hub dataset's columns.", metavar="FILE..."
        ),
    ],
    data_dir: MirrorDir,
    dataset: Annotated[
        str,
        typer.Option(
            "--dataset",
            help="The hub dataset the files are a copy of, OWNER/NAME, as the benchmark's task loads it "
            "(`sosbench list --format json` lists them).",
            envvar="SOSBENCH_DATA_ADD_DATASET",
        ),
    ],
    config: Annotated[
        str | None,
        typer.Option(
            "--config",
            help="The dataset config (subset) the files belong to (default: none, as for most datasets).",
            envvar="SOSBENCH_DATA_ADD_CONFIG",
        ),
    ] = None,
    split: Annotated[
        str | None,
        typer.Option(
            "--split",
            help="Put every file into this one split (default: each file is the split its name says).",
            envvar="SOSBENCH_DATA_ADD_SPLIT",
        ),
    ] = None,
) -> None:
    """Build or extend a mirror from local files in the hub's schema (no hub needed), with checksums."""
    from sosbench.run import add_files, missing_parts
    from sosbench.suite import benchmarks

    if split is not None:
        parts = {(config, split): list(files)}
    else:
        parts = {}
        for path in files:
            parts.setdefault((config, path.name.split(".")[0]), []).append(path)
    written = add_files(data_dir, dataset, parts)
    console = console_err()
    for (conf, name), rows in written.items():
        console.print(f"added {dataset} {conf or 'default'}/{name}: {rows:,} rows")
    users = [(b, spec) for b in benchmarks() for spec in b.datasets if spec.id == dataset]
    if not users:
        console.print(
            f"note: no benchmark of the suite reads {dataset}: "
            "check the id against `sosbench list --format json`"
        )
    for bench, spec in users:
        missing = missing_parts(data_dir, spec)
        state = f"still needs {', '.join(missing)}" if missing else "has all its data in the mirror"
        console.print(f"{bench.name}: {state}")
    typer.echo(f"mirror at {data_dir} (check it with `sosbench data verify --data-dir {data_dir}`)")


@data_app.command("verify", epilog="Example: sosbench data verify --data-dir /shared/sos-mirror")
def verify(data_dir: MirrorDir) -> None:
    """Check every mirrored file against the checksums recorded when it was pulled (offline)."""
    from sosbench.run import load_manifest
    from sosbench.run import verify as do_verify

    if not (data_dir / "sosbench-mirror.json").exists():  # a FIFO there is refused by the reader
        raise SosbenchError(
            f"{data_dir} is not a sosbench mirror (no sosbench-mirror.json): "
            f"run `sosbench data pull --data-dir {data_dir}`"
        )
    problems = do_verify(data_dir)
    if problems:
        for problem in problems[1:]:
            console_err().print(problem)
        raise SosbenchError(f"{data_dir}: {problems[0]} ({len(problems)} problem(s)); pull again to repair")
    count = len(load_manifest(data_dir).get("datasets", {}))
    typer.echo(f"{data_dir}: {count} dataset(s), all files match their checksums")


def register(app: typer.Typer) -> None:
    app.add_typer(data_app, name="data")
