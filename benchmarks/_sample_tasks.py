"""lm-eval tasks of SOS-Bench's multiple-choice side over the local sample data (no hub).

Shared by the engine speed scripts and tests/run/test_engines.py. Each task is a small YAML that
includes the reference definition (the protocol copy in ../shared/data/protocol for the safety,
BBQ and WMDP tasks; lm-eval's own leaderboard YAMLs for BBH and MMLU-Pro) and only points
``dataset_path`` at a sample JSONL file. Deviations from a full run, all forced by the samples:

* MMLU-Pro's few-shot split (validation) is not in the samples: its 5 shots come from the
  first rows of the sample test file (``first_n``, as the leaderboard does with validation).
* ToxiGen is left out: its reference YAML needs the fork's ``utils.py``.
* BBQ has 6 of 11 splits, WMDP 10 items per subject (see the samples README).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("SOSBENCH_SHARED", REPO.parent / "shared")).resolve() / "data"

SAFETY = ("xstest", "dttoxicity", "jailbreakhub", "strongreject")
BBQ_SPLITS = ("age", "disabilityStatus", "nationality", "physicalAppearance", "religion", "sexualOrientation")
WMDP = ("bio", "chem", "cyber")


def _leaderboard_dir() -> Path:
    import lm_eval.tasks

    return Path(lm_eval.tasks.__file__).parent / "leaderboard"


def task_yamls(data: Path = SHARED_DATA) -> dict[str, dict[str, Any]]:
    """Task name -> YAML content (an include of the reference definition plus data overrides)."""
    samples, protocol = data / "samples", data / "protocol"

    def local(include: Path, data_file: Path, **extra: Any) -> dict[str, Any]:
        return {
            "include": str(include),
            "dataset_path": "json",
            "dataset_name": None,
            "dataset_kwargs": {"data_files": {"test": str(data_file)}},
            "test_split": "test",
            **extra,
        }

    tasks = {
        f"speed_{name}": local(protocol / "safety_tasks" / f"{name}.yaml", samples / f"{name}.jsonl")
        for name in SAFETY
    }
    for split in BBQ_SPLITS:
        tasks[f"speed_bbq_{split.lower()}"] = local(
            protocol / "bbq" / f"bbq_{split.lower()}.yaml", samples / "bbq" / f"{split}.jsonl"
        )
    for subject in WMDP:
        tasks[f"speed_wmdp_{subject}"] = local(
            protocol / "wmdp" / f"wmdp_{subject}.yaml", samples / "wmdp" / f"wmdp-{subject}.jsonl"
        )
    leaderboard = _leaderboard_dir()
    tasks["speed_mmlu_pro"] = local(
        leaderboard / "mmlu_pro" / "mmlu_pro.yaml", samples / "mmlu_pro.jsonl", fewshot_split="test"
    )
    for bbh in sorted((samples / "bbh").glob("*.jsonl")):
        tasks[f"speed_bbh_{bbh.stem}"] = local(leaderboard / "bbh_mc" / f"{bbh.stem}.yaml", bbh)
    return tasks


def benchmark_of(task: str) -> str:
    """The SOS-Bench benchmark (suite registry name) a sample task stands for."""
    name = task.removeprefix("speed_")
    for family in ("bbq", "wmdp", "bbh"):
        if name.startswith(family + "_"):
            return family
    return name.replace("_", "-")


def task_manager(folder: Path, names: list[str] | None = None) -> tuple[Any, list[str]]:
    """Write the task YAMLs into ``folder``; lm-eval's TaskManager over only that folder."""
    import yaml
    from lm_eval.tasks import TaskManager

    chosen = {name: spec for name, spec in task_yamls().items() if names is None or name in names}
    folder.mkdir(parents=True, exist_ok=True)
    for name, spec in chosen.items():
        text = yaml.safe_dump({"task": name, **spec}, sort_keys=False)
        (folder / f"{name}.yaml").write_text(text, encoding="utf-8")
    return TaskManager(include_path=str(folder), include_defaults=False), list(chosen)


def corpus(data: Path = SHARED_DATA) -> list[str]:
    """Every string field of every sample file: the text a random model's tokenizer is trained on."""
    import json

    texts = []
    for path in sorted((data / "samples").rglob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            texts.extend(value for value in json.loads(line).values() if isinstance(value, str))
    return texts
