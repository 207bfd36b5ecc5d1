"""Running the suite: run configs, lm-eval execution, resumable output folders, the dataset mirror."""

from sosbench._io import read_json, write_json_atomic, write_text_atomic
from sosbench.run._config import (
    ModelSpec,
    RunConfig,
    check_limit,
    load_model_specs,
    model_folder,
    parse_model_args,
    validate_model_specs,
)
from sosbench.run._cost import Estimate, Throughput, estimate, parse_throughput
from sosbench.run._cost import describe as describe_estimates
from sosbench.run._mirror import (
    MANIFEST_NAME,
    add_dataset,
    add_files,
    dataset_needs,
    load_manifest,
    missing_from_mirror,
    missing_parts,
    pull,
    repo_folder,
    verify,
)
from sosbench.run._preflight import check_data, check_engine, sandbox_problem
from sosbench.run._runner import Plan, RunHooks, execute, execute_all, plan
from sosbench.run._samples import (
    build_sample_mirror,
    sample_benchmark_names,
    sampled_benchmarks,
    stand_ins,
)
from sosbench.run._units import Job, Unit

__all__ = [
    "MANIFEST_NAME",
    "Estimate",
    "Job",
    "ModelSpec",
    "Plan",
    "RunConfig",
    "RunHooks",
    "Throughput",
    "Unit",
    "add_dataset",
    "add_files",
    "build_sample_mirror",
    "check_data",
    "check_engine",
    "check_limit",
    "dataset_needs",
    "describe_estimates",
    "estimate",
    "execute",
    "execute_all",
    "load_manifest",
    "load_model_specs",
    "missing_from_mirror",
    "missing_parts",
    "model_folder",
    "parse_model_args",
    "parse_throughput",
    "plan",
    "pull",
    "read_json",
    "repo_folder",
    "sample_benchmark_names",
    "sampled_benchmarks",
    "sandbox_problem",
    "stand_ins",
    "validate_model_specs",
    "verify",
    "write_json_atomic",
    "write_text_atomic",
]
