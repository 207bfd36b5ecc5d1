"""Build an offline mirror (the layout `sosbench data pull` writes) from ../shared/data/samples.

The samples are real benchmark items in their hub schemas (see samples/README.md). Where the
samples lack a split that a task definition needs, the gap is filled as stated here, never with
invented items:
- BBQ's five splits absent from the samples (genderIdentity, raceEthnicity, raceXGender, raceXSes, ses)
  hold the real items of the present splits, in order, so the 11-split group still builds;
- MMLU-Pro's `validation` split (its 5-shot examples) is a stand-in: the test items of other
  categories, so few-shot prompts are built from real MMLU-Pro text;
- ToxiGen's `train` split (declared by the task, used only for few-shot) reuses the test rows;
- BeaverTails, CDNA, SGXSTest, WildGuardTest and SaladBench have no public copy in the samples. Their
  tasks read only `prompt`/`label` (or `question`/`choices`/`answers`), so real items of sets with
  the same fields stand in: StrongREJECT prompts, XSTest prompts and labels (mapped to
  WildGuardTest's harmful/unharmful), and BBQ questions with SaladBench's multi-gold `answers`
  (the BBQ answer plus choice 1).
"""

from __future__ import annotations

import json
from pathlib import Path

# The leaderboard IFEval task reads this copy of google/IFEval (same schema).
DATASET_ALIASES = {"google/IFEval": "wis-k/instruction-following-eval"}
# Real LiveBench 2024-06-24 questions (../shared/data/livebench) of two complete categories.
LIVEBENCH = {"reasoning": ["web_of_lies_v2", "zebra_puzzle"], "math": ["AMPS_Hard", "math_comp", "olympiad"]}
BBQ_SPLITS = [
    "age",
    "disabilityStatus",
    "genderIdentity",
    "nationality",
    "physicalAppearance",
    "raceEthnicity",
    "raceXGender",
    "raceXSes",
    "religion",
    "ses",
    "sexualOrientation",
]


def build_sample_mirror(shared_data: Path, data_dir: Path) -> Path:
    """The mirror, built as a user builds one from local files: `sosbench data add`'s own code
    (``sosbench.run.add_files``), one dataset at a time; the gap fills are written as JSONL first."""
    from sosbench.run import add_files

    samples = shared_data / "samples"
    fills = data_dir.parent / f"{data_dir.name}-fills"
    fills.mkdir(parents=True, exist_ok=True)
    grouped: dict[str, dict[tuple[str | None, str], list[Path]]] = {}
    for entry in json.loads((samples / "manifest.json").read_text()):
        dataset_id = DATASET_ALIASES.get(entry["hf_dataset"], entry["hf_dataset"])
        grouped.setdefault(dataset_id, {})[(entry.get("hf_config"), entry["hf_split"])] = [
            samples / entry["file"]
        ]
    bbq = grouped["walledai/BBQ"]
    present = list(bbq.values())
    for index, split in enumerate(s for s in BBQ_SPLITS if (None, s) not in bbq):
        bbq[(None, split)] = present[index % len(present)]
    mmlu = _rows(samples, "mmlu_pro.jsonl")
    grouped["TIGER-Lab/MMLU-Pro"][(None, "validation")] = [
        _write(fills / "mmlu_validation.jsonl", mmlu[:-11:-1])
    ]
    toxigen = grouped["skg/toxigen-data"]
    toxigen[("annotated", "train")] = toxigen[("annotated", "test")]
    for dataset_id, rows in _stand_ins(samples).items():
        grouped[dataset_id] = {
            key: [_write(fills / f"{dataset_id.replace('/', '_')}_{key[1]}.jsonl", table)]
            for key, table in rows.items()
        }
    for category, tasks in LIVEBENCH.items():
        grouped[f"livebench/{category}"] = {
            (None, "test"): [shared_data / "livebench" / f"questions_{task}.jsonl" for task in tasks]
        }
    for dataset_id, parts in grouped.items():
        add_files(data_dir, dataset_id, parts)
    return data_dir


def _rows(samples: Path, name: str) -> list[dict]:
    return [json.loads(line) for line in (samples / name).read_text().splitlines() if line.strip()]


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def _stand_ins(samples: Path) -> dict[str, dict[tuple[str | None, str], list[dict]]]:
    prompts = [{"prompt": r["prompt"]} for r in _rows(samples, "strongreject.jsonl")]
    xstest = _rows(samples, "xstest.jsonl")
    harm = {"safe": "unharmful", "unsafe": "harmful"}
    bbq = _rows(samples, "bbq/age.jsonl")
    return {
        "walledai/BeaverTailsEval": {(None, "test"): prompts},
        "walledai/CDNA": {(None, "train"): prompts},
        "walledai/SGXSTest": {
            (None, "train"): [{"prompt": r["prompt"], "label": r["label"]} for r in xstest]
        },
        "walledai/WildGuardTest": {
            (None, "train"): [{"prompt": r["prompt"], "label": harm[r["label"]]} for r in xstest]
        },
        "walledai/SaladBench": {
            ("mrq", "train"): [
                {"question": r["question"], "choices": r["choices"], "answers": sorted({r["answer"], 1})}
                for r in bbq
            ]
        },
    }
