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
from sosbench.run._mirror import (
    MANIFEST_NAME,
    add_dataset,
    dataset_needs,
    load_manifest,
    missing_from_mirror,
    pull,
    repo_folder,
    verify,
)
from sosbench.run._preflight import check_data
from sosbench.run._runner import Plan, RunHooks, execute, execute_all, plan
from sosbench.run._units import Job, Unit

__all__ = [
    "MANIFEST_NAME",
    "Job",
    "ModelSpec",
    "Plan",
    "RunConfig",
    "RunHooks",
    "Unit",
    "add_dataset",
    "check_data",
    "check_limit",
    "dataset_needs",
    "execute",
    "execute_all",
    "load_manifest",
    "load_model_specs",
    "missing_from_mirror",
    "model_folder",
    "parse_model_args",
    "plan",
    "pull",
    "read_json",
    "repo_folder",
    "validate_model_specs",
    "verify",
    "write_json_atomic",
    "write_text_atomic",
]
