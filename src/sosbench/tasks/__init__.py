"""SOS-Bench task definitions for lm-eval, shipped as an lm-eval include folder.

`definitions_dir()` is the folder to give lm-eval (`lm_eval --include_path <it>` or
`TaskManager(include_path=...)`). It holds the SOS safety tasks, SOS-Bench's BBQ and WMDP groups
(all prefixed `sos_`), their `--protocol corrected` variants and the LiveBench generation tasks.
BBH and MATH level 5 are the paper's lm-eval (74d23a67) leaderboard tasks (`sos_leaderboard_*`),
because lm-eval 0.4.13 changed their prompts and metric; IFEval, GPQA, MMLU-Pro and MuSR use lm-eval's
own `leaderboard_*` tasks, unchanged in effect since (docs/tasks.md).
"""

from __future__ import annotations

from pathlib import Path


def definitions_dir() -> Path:
    """The lm-eval include folder with every sosbench task YAML."""
    return Path(__file__).with_name("definitions")


__all__ = ["definitions_dir"]
