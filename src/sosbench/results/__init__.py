"""Reading run outputs (run folders, lm-eval results JSON, LiveBench scores, artifact CSVs) and writing
the paper's artifact layouts."""

from sosbench.results._generations import (
    GenerationCheck,
    check_generations,
    flag_lines,
)
from sosbench.results._livebench import (
    livebench_benchmarks,
    read_livebench_csv,
    read_livebench_scores,
    task_questions,
)
from sosbench.results._lmeval import load_json
from sosbench.results._model import BenchmarkResult, Component, Items, ModelResults, limit_text
from sosbench.results._read import (
    read_lmeval_benchmark,
    read_path,
    read_paths,
    read_results_json,
    read_run_folder,
    run_folders_in,
)
from sosbench.results._schema import (
    LmEvalResults,
    ScoringConstants,
    read_results,
    read_scoring_file,
    scoring_constants,
)
from sosbench.results._wide import read_wide_csv, write_livebench_csvs, write_wide_csv

__all__ = [
    "BenchmarkResult",
    "Component",
    "GenerationCheck",
    "Items",
    "LmEvalResults",
    "ModelResults",
    "ScoringConstants",
    "check_generations",
    "flag_lines",
    "limit_text",
    "livebench_benchmarks",
    "load_json",
    "read_livebench_csv",
    "read_livebench_scores",
    "read_lmeval_benchmark",
    "read_path",
    "read_paths",
    "read_results",
    "read_results_json",
    "read_run_folder",
    "read_scoring_file",
    "read_wide_csv",
    "run_folders_in",
    "scoring_constants",
    "task_questions",
    "write_livebench_csvs",
    "write_wide_csv",
]
