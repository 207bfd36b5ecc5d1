"""What `sosbench judge` prints: progress, endpoint notes, dry-run estimates, leaderboards, losses, audit."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Coroutine, Iterator
from typing import TYPE_CHECKING, Any

import typer

from sosbench.cli._common import console_err
from sosbench.cli._judge_options import DEFAULT_COMPLETION_TOKENS

if TYPE_CHECKING:
    from sosbench.judge import CallStats, JudgeTemplate, Leaderboard


@contextlib.contextmanager
def progress_bar(label: str, total: int | None = None) -> Iterator[Callable[[int, bool], None]]:
    """A progress bar on stderr; ``step(n, False)`` advances it, ``step(n, True)`` sets its total."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console_err(),
        transient=True,
    ) as progress:
        task = progress.add_task(label, total=total)

        def step(n: int, is_total: bool = False) -> None:
            if is_total:
                progress.update(task, total=n)
            else:
                progress.advance(task, n)

        yield step


def drive(
    make_chat: Callable[[], Any],
    work: Callable[[Any, Callable[[], None]], Coroutine[Any, Any, Any]],
    total: int,
    label: str,
) -> Any:
    """Run ``work(chat, advance)`` on a fresh event loop with a progress bar on stderr; close the client."""
    import asyncio

    async def main() -> Any:
        chat = make_chat()
        try:
            with progress_bar(label, total) as step:
                return await work(chat, lambda: step(1, False))
        finally:
            await chat.aclose()
            config = getattr(chat, "config", None)
            print_call_stats(getattr(chat, "stats", None), config.timeout if config else 0.0)

    return asyncio.run(main())


def print_call_stats(stats: CallStats | None, timeout: float) -> None:
    """What the client absorbed: cancelled timeouts, retries, replies cut at the size cap (endpoints only)."""
    if stats is None:
        return
    notes = []
    if stats.timeouts:
        notes.append(
            f"{stats.timeouts} request{'s' * (stats.timeouts != 1)} outlived --timeout "
            f"({timeout:g} s) and {'were' if stats.timeouts != 1 else 'was'} cancelled"
        )
    if stats.retries:
        notes.append(f"{stats.retries} retr{'ies' if stats.retries != 1 else 'y'} in all")
    if stats.truncated:
        notes.append(
            f"{stats.truncated} repl{'ies' if stats.truncated != 1 else 'y'} longer than max_tokens "
            "allows, cut and marked truncated"
        )
    if notes:
        console_err().print("endpoint: " + "; ".join(notes))


def fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def print_dry_run(
    judge: str,
    spec: JudgeTemplate,
    tasks: list,
    total_games: int,
    completion_tokens: int | None,
    price: tuple[float, float] | None,
) -> None:
    from sosbench.judge import estimate

    per_call = min(completion_tokens or DEFAULT_COMPLETION_TOKENS, spec.max_tokens)
    capped = (
        " (the template's max_tokens)"
        if per_call == spec.max_tokens < (completion_tokens or DEFAULT_COMPLETION_TOKENS)
        else ""
    )
    est = estimate(tasks, per_call, price)
    typer.echo(f"dry run of judge {judge} (template {spec.name}), nothing sent:")
    typer.echo(
        f"  games to judge:     {est.games} of {total_games} ({total_games - est.games} already judged)"
    )
    retry = "; a reply without a verdict adds one more" if spec.attempts > 1 else ", none repeated"
    typer.echo(f"  calls:              {est.calls} (one per game{retry})")
    typer.echo(f"  prompt tokens:      ~{est.prompt_tokens:,} (4 characters per token)")
    typer.echo(f"  completion tokens:  ~{est.completion_tokens:,} ({per_call} per call{capped})")
    if est.cost_usd is None or price is None:
        typer.echo(f"  cost:               unknown (no price for {judge}; pass --prices FILE)")
    else:
        typer.echo(
            f"  cost:               ~${est.cost_usd:,.2f} "
            f"(USD {price[0]:g}/{price[1]:g} per 1M input/output tokens)"
        )


def print_unparsed(board: Leaderboard, per_category: bool) -> None:
    """One line per distinct set of unparsed counts, naming its criteria (and the category, for v2.0)."""
    groups: dict[str, list[str]] = {}
    for result in board.results:
        bad = {m: n for m, n in result.unparsed.items() if n}
        if bad:
            listed = ", ".join(f"{m} {n}" for m, n in sorted(bad.items()))
            groups.setdefault(listed, []).append(result.criterion)
    where = f" in {board.category} (their questions are left out whole)" if per_category else ""
    for listed, names in groups.items():
        console_err().print(
            f"games without a readable verdict (not scored){where} for {', '.join(names)}: {listed}"
        )


def boards_csv(boards: list[Leaderboard], frames: list[Any], per_category: bool) -> str:
    """v0.1: the paper's arena_hard_auto.csv layout; v2.0: the same with a leading ``category`` column."""
    if not per_category:
        return str(frames[0].to_csv(index=False))
    import pandas as pd

    tagged = [frame.assign(category=board.category) for board, frame in zip(boards, frames, strict=True)]
    table = pd.concat(tagged, ignore_index=True)
    return str(table[["category", *[c for c in table.columns if c != "category"]]].to_csv(index=False))


def print_board(board: Leaderboard, frame: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    from sosbench.judge import OVERALL_CRITERION

    where = f" ({board.benchmark}, {board.category})" if board.category != board.benchmark else ""
    table = Table(title=f"judge {board.judge}{where}: win rate vs {board.baseline} (%), 95% bootstrap CI")
    table.add_column("model", no_wrap=True)
    for result in board.results:
        table.add_column(result.criterion, justify="right", no_wrap=True)
    for row in frame.itertuples(index=False):
        record = row._asdict()
        cells = [str(record["model"])]
        for result in board.results:
            prefix = "" if result.criterion == OVERALL_CRITERION else f"{result.criterion}_"
            value, low, high = (record[f"{prefix}{k}"] for k in ("score", "rating_q025", "rating_q975"))
            cells.append("-" if math.isnan(value) else f"{value:.1f} ({low:.1f}-{high:.1f})")
        table.add_row(*cells)
    width = max(100, max(len(m) for m in frame["model"]) + 22 * len(board.results) + 8)
    Console(width=width).print(table)


def print_losses(losses: list, *, to_stderr: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="intervention score loss, (original - perturbed) / original")
    for name in ("model", "intervention", "criterion", "original", "perturbed", "loss %"):
        table.add_column(name, justify="left" if name in ("model", "intervention", "criterion") else "right")
    for x in losses:
        table.add_row(x.model, x.kind, x.criterion, fmt(x.original), fmt(x.perturbed), fmt(x.loss_percent, 1))
    (console_err() if to_stderr else Console(width=120)).print(table)


def print_audit(result: dict) -> None:
    """The audit's correlations as a table on stdout."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="judge audit: correlation with the judge's overall score, across models")
    for name in ("judge", "vs", "pearson", "spearman", "models"):
        table.add_column(name, justify="left" if name in ("judge", "vs") else "right")
    for entry in result["judges"]:
        rows = [(c, v) for c, v in entry["criteria"].items()] + [
            (f"factor {f}", v) for f, v in entry["factors"].items()
        ]
        if not rows:
            table.add_row(entry["judge"], "(no criterion verdicts)", "-", "-", str(entry["n_models"]))
        for name, value in rows:
            table.add_row(
                entry["judge"], name, fmt(value["pearson"], 3), fmt(value["spearman"], 3), str(value["n"])
            )
    Console(width=110).print(table)
