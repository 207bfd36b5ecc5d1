"""`sosbench judge`: Arena-Hard-Auto v0.1 and v2.0 answers, judgments, scores, interventions and the audit.

The commands live by what they do: `answer`, `run` and `perturb` call endpoints (``_judge_calls``),
`score` and `audit` read judgments (``_judge_scores``); their shared options are in ``_judge_options`` and
what they print in ``_judge_show``."""

from __future__ import annotations

import typer

from sosbench.cli._judge_calls import answer, perturb, run
from sosbench.cli._judge_options import EXAMPLES
from sosbench.cli._judge_scores import audit, score

judge_app = typer.Typer(
    name="judge",
    help="The LLM judge (Arena-Hard-Auto v0.1 and v2.0): answer, run, score, perturb, audit. "
    "See docs/judge.md.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add `sosbench judge ...` to the root app."""
    judge_app.command("answer", epilog=EXAMPLES)(answer)
    judge_app.command("run", epilog=EXAMPLES)(run)
    judge_app.command("score", epilog=EXAMPLES)(score)
    judge_app.command("perturb", epilog=EXAMPLES)(perturb)
    judge_app.command("audit", epilog=EXAMPLES)(audit)
    app.add_typer(judge_app, name="judge")
