"""Analyses over many models and paired comparisons of two runs (`sosbench compare`): judge-versus-factor
correlations with bootstrap CIs, the paper's recomputation from its artifacts (deltas, LiveBench roll-up,
SFT data-size regressions)."""

from sosbench.analysis._artifacts import (
    ArenaScore,
    MappedModel,
    PaperData,
    artifacts_dir,
    load_mapping,
    load_paper,
    read_arena_hard,
)
from sosbench.analysis._compare import (
    ADJUSTMENTS,
    PERMUTATIONS,
    Comparison,
    Row,
    adjust_pvalues,
    compare_paths,
    compare_runs,
    read_run,
)
from sosbench.analysis._correlation import Correlation, correlate, rowwise_kendall
from sosbench.analysis._judge_gain import DEFINITION as JUDGE_ONLY_GAIN
from sosbench.analysis._judge_gain import judge_only_gain
from sosbench.analysis._paper import (
    ARENA,
    LIVEBENCH_AVERAGE,
    Delta,
    PaperAnalysis,
    Regression,
    RollupCheck,
    factor_value,
    judge_correlations,
    livebench_rollup,
    paper_analysis,
    po_deltas,
    size_regressions,
)

__all__ = [
    "ADJUSTMENTS",
    "ARENA",
    "JUDGE_ONLY_GAIN",
    "LIVEBENCH_AVERAGE",
    "PERMUTATIONS",
    "ArenaScore",
    "Comparison",
    "Correlation",
    "Delta",
    "MappedModel",
    "PaperAnalysis",
    "PaperData",
    "Regression",
    "RollupCheck",
    "Row",
    "adjust_pvalues",
    "artifacts_dir",
    "compare_paths",
    "compare_runs",
    "correlate",
    "factor_value",
    "judge_correlations",
    "judge_only_gain",
    "livebench_rollup",
    "load_mapping",
    "load_paper",
    "paper_analysis",
    "po_deltas",
    "read_arena_hard",
    "read_run",
    "rowwise_kendall",
    "size_regressions",
]
