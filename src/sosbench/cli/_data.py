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
