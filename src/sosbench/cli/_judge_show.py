"""What `sosbench judge` prints: progress, endpoint notes, dry-run estimates, leaderboards, losses, audit."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from sosbench._io import write_text_atomic
from sosbench.cli._common import console_err
from sosbench.cli._judge_options import DEFAULT_COMPLETION_TOKENS

PLAIN_ESTIMATOR = "arena-hard-v0.1"  # `judge score` of a v0.1 folder: its Bradley-Terry, the paper's layout

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


def print_unparsed(unparsed: dict[str, dict[str, int]], category: str, per_category: bool) -> None:
    """One line per distinct set of unparsed counts (criterion -> model -> games), naming its criteria (and
    the category, for v2.0)."""
    groups: dict[str, list[str]] = {}
    for criterion, counts in unparsed.items():
        bad = {m: n for m, n in counts.items() if n}
        if bad:
            groups.setdefault(", ".join(f"{m} {n}" for m, n in sorted(bad.items())), []).append(criterion)
    where = f" in {category} (their questions are left out whole)" if per_category else ""
    for listed, names in groups.items():
        console_err().print(
            f"games without a readable verdict (not scored){where} for {', '.join(names)}: {listed}"
        )


def boards_csv(boards: list[Any], frames: list[Any], per_category: bool) -> str:
    """v0.1: the paper's arena_hard_auto.csv layout; v2.0: the same with a leading ``category`` column."""
    if not per_category:
        return str(frames[0].to_csv(index=False))
    import pandas as pd

    tagged = [frame.assign(category=board.category) for board, frame in zip(boards, frames, strict=True)]
    table = pd.concat(tagged, ignore_index=True)
    return str(table[["category", *[c for c in table.columns if c != "category"]]].to_csv(index=False))


def print_board(board: Leaderboard, frame: Any) -> None:
    from sosbench.judge import OVERALL_CRITERION

    where = f" ({board.benchmark}, {board.category})" if board.category != board.benchmark else ""
    _heading(
        f"judge {board.judge}{where}, estimator {PLAIN_ESTIMATOR}: win rate vs {board.baseline} (%), "
        "full-data fit, 95% bootstrap CI"
    )
    columns = {}
    for result in board.results:
        prefix = "" if result.criterion == OVERALL_CRITERION else f"{result.criterion}_"
        columns[result.criterion] = _cells(frame, prefix, ("score", "rating_q025", "rating_q975"))
    print_score_columns([str(m) for m in frame["model"]], columns)


def _heading(text: str) -> None:
    """A board's title on stdout, wrapped at the terminal's width like the table under it."""
    from rich.console import Console

    Console().print(text, markup=False, highlight=False)


def _cells(frame: Any, prefix: str, keys: tuple[str, str, str]) -> list[tuple[str, str]]:
    """(score, "(low-high)") of every model of a board's frame, "-" where it has no score."""
    out = []
    for row in frame.itertuples(index=False):
        record = row._asdict()
        value, low, high = (record[f"{prefix}{k}"] for k in keys)
        out.append(("-", "") if math.isnan(value) else (f"{value:.1f}", f"({low:.1f}-{high:.1f})"))
    return out


def print_score_columns(models: list[str], columns: dict[str, list[tuple[str, str]]]) -> None:
    """Models x criteria, every cell whole: "score (low-high)" on one line where the terminal is wide
    enough, else the interval under the score, in as many tables as the width needs (cli/_tables.py)."""
    from rich.console import Console
    from rich.table import Table

    from sosbench.cli._tables import column_groups, print_first_fitting

    console = Console()
    names = list(columns)

    def tables(stacked: bool) -> list[Table]:
        join = "\n" if stacked else " "
        widths = [
            max(len(n), *(max(len(v), len(c)) if stacked else len(f"{v} {c}".strip()) for v, c in columns[n]))
            for n in names
        ]
        model_width = [max(len("model"), *(len(m) for m in models))]
        groups = column_groups(model_width, widths, console.width) if stacked else [list(range(len(names)))]
        out = []
        for number, group in enumerate(groups, 1):
            table = Table(title=f"part {number} of {len(groups)}" if len(groups) > 1 else None)
            table.add_column("model", no_wrap=True)
            for index in group:
                table.add_column(names[index], justify="right", no_wrap=True)
            for i, model in enumerate(models):
                table.add_row(model, *(join.join(columns[names[k]][i]).strip() for k in group))
            out.append(table)
        return out

    print_first_fitting(console, [tables(stacked=False), tables(stacked=True)])


def print_losses(losses: list, *, to_stderr: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="intervention score loss, (original - perturbed) / original")
    for name in ("model", "intervention", "criterion", "original", "perturbed", "loss %"):
        if name in ("model", "intervention", "criterion"):  # long names wrap whole at 80 columns
            table.add_column(name, overflow="fold")
        else:
            table.add_column(name, justify="right", no_wrap=True)
    for x in losses:
        table.add_row(x.model, x.kind, x.criterion, fmt(x.original), fmt(x.perturbed), fmt(x.loss_percent, 1))
    (console_err() if to_stderr else Console()).print(table)


def print_audit(result: dict) -> None:
    """The audit's correlations as a table on stdout."""
    from rich.console import Console
    from rich.table import Table

    from sosbench.analysis import audit_label

    table = Table(title="judge audit: correlation with the judge's overall score, across models")
    for name in ("judge", "vs", "pearson", "spearman", "models"):
        table.add_column(name, justify="left" if name in ("judge", "vs") else "right")
    for entry in result["judges"]:
        rows = [(c, v) for c, v in entry["criteria"].items()] + [
            (f"factor {f}", v) for f, v in entry["factors"].items()
        ]
        judge = audit_label(entry)
        if not rows:
            table.add_row(judge, "(no criterion verdicts)", "-", "-", str(entry["n_models"]))
        for name, value in rows:
            table.add_row(judge, name, fmt(value["pearson"], 3), fmt(value["spearman"], 3), str(value["n"]))
    console = Console(width=110)
    console.print(table)
    for line in audit_legend(result):
        console.print(line, highlight=False, markup=False, soft_wrap=True)


def audit_legend(result: dict) -> list[str]:
    """Why each `-` of the audit table is there, grouped by judge and reason, then the audit's notes."""
    from sosbench.analysis import audit_label

    lines = []
    for entry in result["judges"]:
        if not entry["criteria"] and not entry["factors"]:
            lines.append(
                f"- ({audit_label(entry)}): its verdicts carry no criterion scores, only overall ones"
            )
        why: dict[str, list[str]] = {}
        for kind, prefix in (("criteria", ""), ("factors", "factor ")):
            for name, value in entry[kind].items():
                if value.get("pearson") is None:
                    why.setdefault(value.get("why") or "undefined", []).append(prefix + name)
        for reason, names in why.items():
            lines.append(f"- ({audit_label(entry)}: {', '.join(names)}): undefined: {reason}")
    return lines + [f"note: {n}" for n in result.get("notes", [])]


def print_estimates(board: Any, frame: Any) -> None:
    from sosbench.judge import OVERALL_CRITERION

    first = next(iter(board.estimates.values()))
    control = f", style control: {', '.join(first.control)}" if first.control else ""
    where = f" ({board.category})" if board.category != board.benchmark else ""
    _heading(
        f"judge {board.judge}{where}, estimator {first.estimator}{control}: win rate vs {board.baseline} "
        f"(%), {first.point}, {first.level:g}% band"
    )
    columns = {
        criterion: _cells(
            frame, "" if criterion == OVERALL_CRITERION else f"{criterion}_", ("score", "lower", "upper")
        )
        for criterion in board.estimates
    }
    print_score_columns([str(m) for m in frame["model"]], columns)
    for criterion, result in board.estimates.items():
        if result.control:
            coefs = ", ".join(f"{f} {c:+.3f}" for f, c in zip(result.control, result.coef, strict=True))
            typer.echo(f"style coefficients ({criterion}, log-odds per sd of the feature): {coefs}")


def print_card(card: dict) -> None:
    """One bias card: scores raw and style-controlled, the price of style, and the finding."""
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"judge-bias card ({card['category']}, {card['estimator']}): win rate vs {card['baseline']} (%)"
    )
    for name in ("model", "raw", "style-controlled", "shift"):
        table.add_column(name, justify="left" if name == "model" else "right")
    for model, row in sorted(card["models"].items(), key=lambda item: -item[1]["raw"]):
        table.add_row(model, fmt(row["raw"], 1), fmt(row["controlled"], 1), f"{row['shift']:+.1f}")
    Console(width=110).print(table)
    for feature, c in card["coefficients"].items():
        typer.echo(
            f"  {feature}: {c['points']:+.1f} points {c['reader_unit']} "
            f"(95% CI {c['points_lower']:+.1f} to {c['points_upper']:+.1f})"
        )
    for x in card["interventions"]:
        typer.echo(
            f"  intervention {x['model']}@{x['kind']}: loss {fmt(x['raw_loss_percent'], 1)}% raw, "
            f"{fmt(x['controlled_loss_percent'], 1)}% style-controlled"
        )
    typer.echo(card["finding"])


def emit(text: str | None, output: Path | None) -> bool:
    """Write ``text`` to ``--output`` or stdout; False when there is none (the caller prints a table)."""
    if output is not None:
        write_text_atomic(output, text or "")
        console_err().print(f"leaderboard written to {output}")
    elif text is not None:
        typer.echo(text.rstrip("\n"))
    return text is not None or output is not None


def show_boards(boards: list[Leaderboard], output_format: str, output: Path | None) -> None:
    """``judge score`` of a v0.1 folder: the paper's leaderboard layout (Bradley-Terry, as arena-hard-v0.1),
    with the intervention losses."""
    from sosbench.judge import board_json, intervention_losses

    losses = [intervention_losses(board) for board in boards]
    for board in boards:
        print_unparsed({r.criterion: r.unparsed for r in board.results}, board.category, False)
    if output_format == "csv" or (output is not None and output_format == "table"):  # CSV does not say it
        note = f"scored by the {PLAIN_ESTIMATOR} estimator (Bradley-Terry full-data fit, 95% bootstrap CI)"
        console_err().print(note, highlight=False, markup=False, soft_wrap=True)
    _show(
        boards,
        [board.frame() for board in boards],
        lambda: {"estimator": PLAIN_ESTIMATOR, **board_json(boards[0], losses[0])},
        print_board,
        losses,
        output_format,
        output,
    )


def estimator_note(board: Any, defaulted: bool) -> str:
    """Which estimator made a board, and, where the folder chose it, what the official leaderboard adds."""
    first = next(iter(board.estimates.values()))
    control = f"style control: {', '.join(first.control)}" if first.control else "no style control"
    note = f"scored by the {first.estimator} estimator ({control}; {first.point}, {first.level:g}% band)"
    if defaulted and not first.control and first.estimator == "arena-hard-v2.0":
        note += (
            ", as v2.0's show_result.py runs by default; its official leaderboard controls for style: "
            "add --style-control both"
        )
    return note


def show_estimator_boards(
    boards: list[Any], output_format: str, output: Path | None, *, defaulted: bool = False
) -> None:
    """An official estimator's leaderboard per category (``--estimator``, or the folder's own benchmark when
    ``defaulted``), with the intervention losses and a line naming the estimator on stderr."""
    from sosbench.judge import estimator_frame, estimator_json, estimator_losses

    per_category = boards[0].category != boards[0].benchmark
    for board in boards:
        print_unparsed(board.unparsed, board.category, per_category)
    console_err().print(estimator_note(boards[0], defaulted), highlight=False, markup=False, soft_wrap=True)

    def payload() -> dict:
        if not per_category:
            return estimator_json(boards[0])
        return {
            "benchmark": boards[0].benchmark,
            "judge": boards[0].judge,
            "categories": {b.category: estimator_json(b) for b in boards},
        }

    frames = [estimator_frame(board) for board in boards]
    losses = [estimator_losses(board) for board in boards]
    _show(boards, frames, payload, print_estimates, losses, output_format, output)


def _show(
    boards: list[Any],
    frames: list[Any],
    payload: Callable[[], dict],
    print_one: Callable[[Any, Any], None],
    losses: list[list],
    output_format: str,
    output: Path | None,
) -> None:
    """A score's boards as JSON, CSV (one table, ``category`` first for v2.0) or tables, to stdout or
    ``--output``; then the intervention losses (on stderr when CSV goes to stdout)."""
    import json

    if output_format == "json":
        text: str | None = json.dumps(payload(), indent=2, allow_nan=False)
    elif output_format == "csv" or output is not None:
        text = boards_csv(boards, frames, boards[0].category != boards[0].benchmark)
    else:
        text = None
    if not emit(text, output):
        for board, frame in zip(boards, frames, strict=True):
            print_one(board, frame)
    for found in losses:
        if found and output_format != "json":
            print_losses(found, to_stderr=output_format == "csv" and output is None)


def show_audit(result: dict) -> None:
    """The audit's correlations, then each entry's cards (or why it has none)."""
    from sosbench.analysis import audit_label

    print_audit(result)
    for entry in result["judges"]:
        if entry.get("cards_missing"):
            console_err().print(f"{audit_label(entry)}: {entry['cards_missing']}")
        for card in entry.get("cards", []):
            print_card(card)
