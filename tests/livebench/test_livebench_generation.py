"""End to end: the lm-eval LiveBench tasks generate with the tiny model from a mirror folder, then
``finalize_run`` writes LiveBench's model_answer files and per-question scores.

The dataset is overridden exactly as ``sosbench run --data-dir`` does it: a wrapper group whose
``dataset_path`` lm-eval applies to every member task. Math, reasoning, data analysis and
instruction following use the real 06-24 questions of ../shared/data/livebench; coding and language
have no offline copy, so one row each in the hub schema stands in (plus a later-release row that the
filter must drop).
"""

from __future__ import annotations

import base64
import json
import pickle
import zlib
from pathlib import Path
from typing import Any

import pytest
import yaml

from sosbench.livebench import CATEGORIES, finalize_run
from sosbench.tasks import definitions_dir

pytestmark = pytest.mark.slow
LIMIT = 2


def _stand_ins() -> dict[str, list[dict[str, Any]]]:
    tests = base64.b64encode(
        zlib.compress(pickle.dumps(json.dumps([{"input": "1 2\n", "output": "3\n", "testtype": "stdin"}])))
    ).decode()
    common = {"livebench_release_date": "2024-06-24", "livebench_removal_date": ""}
    coding = [
        {
            "question_id": "c1",
            "category": "coding",
            "task": "LCB_generation",
            "turns": ["Read a and b; print a+b. Answer in ```python```."],
            "public_test_cases": json.dumps([{"input": "3 4\n", "output": "7\n", "testtype": "stdin"}]),
            "private_test_cases": tests,
            "original_json": {"metadata": "{}"},
            "partial_solution": "",
            **common,
        },
        {
            "question_id": "c2",
            "category": "coding",
            "task": "coding_completion",
            "turns": ["Complete: a, b = map(int, input().split())"],
            "public_test_cases": "[]",
            "private_test_cases": tests,
            "original_json": {"metadata": "{}"},
            "partial_solution": "a, b = map(int, input().split())",
            **common,
        },
        {
            "question_id": "c3",
            "category": "coding",
            "task": "LCB_generation",
            "turns": ["later release"],
            "public_test_cases": "[]",
            "private_test_cases": tests,
            "original_json": {"metadata": "{}"},
            "partial_solution": "",
            "livebench_release_date": "2024-07-26",
            "livebench_removal_date": "",
        },
    ]
    language = [
        {
            "question_id": "l1",
            "category": "language",
            "task": "typos",
            "turns": ["Fix the typos: Teh cat."],
            "ground_truth": "The cat.",
            **common,
        },
        {
            "question_id": "l2",
            "category": "language",
            "task": "connections",
            "turns": ["Group the words."],
            "ground_truth": "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p",
            **common,
        },
        {
            "question_id": "l3",
            "category": "language",
            "task": "plot_unscrambling",
            "turns": ["Order the plot."],
            "ground_truth": "One. Two. Three.",
            **common,
        },
    ]
    return {"coding": coding, "language": language}


@pytest.fixture(scope="module")
def mirror(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """MIRROR/livebench/<category>/ laid out like a hub dataset repo (README configs + jsonl)."""
    root = tmp_path_factory.mktemp("mirror")
    stand_ins = _stand_ins()
    for category, tasks in CATEGORIES.items():
        folder = root / "livebench" / category
        folder.mkdir(parents=True)
        with (folder / "test.jsonl").open("w", encoding="utf-8") as out:
            if category in stand_ins:
                out.writelines(json.dumps(row) + "\n" for row in stand_ins[category])
            else:
                for task in tasks:
                    out.write(
                        (shared_data / "livebench" / f"questions_{task}.jsonl").read_text(encoding="utf-8")
                    )
        (folder / "README.md").write_text(
            "---\nconfigs:\n- config_name: default\n  data_files:\n  - split: test\n    path: "
            "test.jsonl\n---\n"
        )
    return root


@pytest.fixture(scope="module")
def generated(tiny_model: Path, mirror: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    import lm_eval
    from lm_eval.tasks import TaskManager

    wrappers = tmp_path_factory.mktemp("wrappers")
    for category in CATEGORIES:
        spec = {
            "group": f"wrap_livebench_{category}",
            "task": [f"livebench_{category}"],
            "dataset_path": str(mirror / "livebench" / category),
        }
        (wrappers / f"wrap_{category}.yaml").write_text(yaml.safe_dump(spec))
    manager = TaskManager(include_path=[str(definitions_dir()), str(wrappers)], include_defaults=False)
    return lm_eval.simple_evaluate(
        model="hf",
        model_args=f"pretrained={tiny_model},dtype=float32,device=cpu",
        tasks=[f"wrap_livebench_{c}" for c in CATEGORIES],
        task_manager=manager,
        limit=LIMIT,
        gen_kwargs="max_gen_toks=16",
        log_samples=True,
        apply_chat_template=True,
    )


def test_every_task_generates_from_the_mirror_with_greedy_chat_prompts(
    generated: dict[str, Any], mirror: Path
) -> None:
    for tasks in CATEGORIES.values():
        for task in tasks:
            samples = generated["samples"][f"livebench_{task}"]
            assert 1 <= len(samples) <= LIMIT
            for sample in samples:
                assert sample["doc"]["task"] == task
                assert sample["doc"]["question_id"] != "c3"  # the 2024-07-26 row is filtered out
                prompt, kwargs = sample["arguments"][0]
                assert sample["doc"]["turns"][0] in prompt and prompt.startswith(
                    "<|user|>\n"
                )  # chat template, verbatim turn
                assert kwargs["do_sample"] is False and kwargs["until"] == [] and kwargs["max_gen_toks"] == 16
    assert generated["configs"]["livebench_AMPS_Hard"]["dataset_path"] == str(mirror / "livebench" / "math")
    assert "nonempty_answer,none" in generated["results"]["livebench_math"]


def test_finalize_run_writes_answers_and_scores(generated: dict[str, Any], tmp_path: Path) -> None:
    from lm_eval.utils import handle_non_serializable

    for category, tasks in CATEGORIES.items():
        folder = tmp_path / category
        folder.mkdir()
        for task in tasks:  # what the runner writes: one JSON line per sample
            lines = [
                json.dumps(s, default=handle_non_serializable)
                for s in generated["samples"][f"livebench_{task}"]
            ]
            (folder / f"samples_livebench_{task}.jsonl").write_text("\n".join(lines) + "\n")
        means = finalize_run(folder, category, "org/tiny-llama", workers=2)
        assert set(means) == set(tasks) and all(0.0 <= m <= 100.0 for m in means.values())
        answers = [
            json.loads(line)
            for line in (folder / "model_answer" / "org_tiny-llama.jsonl").read_text().splitlines()
        ]
        scores = [json.loads(line) for line in (folder / "livebench_scores.jsonl").read_text().splitlines()]
        assert len(answers) == len(scores) == sum(len(generated["samples"][f"livebench_{t}"]) for t in tasks)
        sample = generated["samples"][f"livebench_{tasks[0]}"][0]
        record = next(a for a in answers if a["question_id"] == sample["doc"]["question_id"])
        assert record["model_id"] == "org/tiny-llama" and record["choices"][0]["turns"] == [
            sample["filtered_resps"][0].strip()
        ]
        assert all(row["category"] == category and 0.0 <= row["score"] <= 1.0 for row in scores)


def test_finalize_run_names_a_missing_sample_file(tmp_path: Path) -> None:
    from sosbench.errors import SosbenchError

    with pytest.raises(SosbenchError, match=r"samples_livebench_web_of_lies_v2.jsonl is missing"):
        finalize_run(tmp_path, "reasoning", "m")
    with pytest.raises(SosbenchError, match="unknown LiveBench category 'spatial'"):
        finalize_run(tmp_path, "spatial", "m")
