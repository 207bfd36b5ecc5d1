"""Loading LiveBench questions from question.jsonl files, folders and hub-like mirror folders; the release
filter."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from sosbench.errors import SosbenchError
from sosbench.livebench import CATEGORIES, ensure_punkt_tab, in_release, load_questions

COUNTS_0624 = {
    "cta": 50,
    "tablejoin": 50,
    "tablereformat": 50,
    "paraphrase": 50,
    "simplify": 50,
    "story_generation": 50,
    "summarize": 50,
    "AMPS_Hard": 100,
    "math_comp": 96,
    "olympiad": 36,
    "web_of_lies_v2": 50,
    "zebra_puzzle": 50,
}


def _counts(questions: list[dict]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for question in questions:
        counts[question["task"]] = counts.get(question["task"], 0) + 1
    return counts


def test_folder_of_question_files_gives_the_0624_counts(shared_data: Path) -> None:
    # The folder also holds offrelease/ questions of later releases: the filter must drop all of them.
    questions = load_questions(shared_data / "livebench")
    assert _counts(questions) == COUNTS_0624
    assert len({q["question_id"] for q in questions}) == sum(COUNTS_0624.values())


def test_single_file_and_task_selection(shared_data: Path) -> None:
    path = shared_data / "livebench" / "questions_math_comp.jsonl"
    questions = load_questions(path, tasks=["math_comp"])
    assert len(questions) == 96
    first_line = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    same = next(q for q in questions if q["question_id"] == first_line["question_id"])
    assert same["turns"] == first_line["turns"]  # prompts byte-exact


def test_later_release_questions_are_kept_for_their_release(shared_data: Path) -> None:
    folder = shared_data / "livebench" / "offrelease"
    assert _counts(load_questions(folder, release="2024-11-25", tasks=["paraphrase"])) == {"paraphrase": 50}
    with pytest.raises(SosbenchError, match="no LiveBench question of release 2024-06-24"):
        load_questions(folder / "questions_paraphrase.jsonl")


def _mirror(shared_data: Path, root: Path, category: str) -> Path:
    folder = root / "livebench" / category
    folder.mkdir(parents=True)
    with (folder / "test.jsonl").open("w", encoding="utf-8") as out:
        for task in CATEGORIES[category]:
            out.write((shared_data / "livebench" / f"questions_{task}.jsonl").read_text(encoding="utf-8"))
    (folder / "README.md").write_text(
        "---\nconfigs:\n- config_name: default\n  data_files:\n  - split: test\n    path: test.jsonl\n---\n"
    )
    return folder


def test_hub_like_mirror_folder_loads_like_the_files(shared_data: Path, tmp_path: Path) -> None:
    folder = _mirror(shared_data, tmp_path, "reasoning")
    from_mirror = load_questions(folder)
    from_root = load_questions(tmp_path)
    from_files = load_questions(shared_data / "livebench", tasks=CATEGORIES["reasoning"])
    assert [q["question_id"] for q in from_mirror] == [q["question_id"] for q in from_files]
    assert [q["question_id"] for q in from_root] == [q["question_id"] for q in from_files]
    assert [q["turns"] for q in from_mirror] == [q["turns"] for q in from_files]


@pytest.mark.parametrize(
    ("row", "kept"),
    [
        ({}, True),  # June 2024 uploads had no release column: they are the 06-24 set
        ({"livebench_release_date": "2024-06-24", "livebench_removal_date": ""}, True),
        ({"livebench_release_date": "2024-06-24", "livebench_removal_date": None}, True),
        ({"livebench_release_date": "2024-06-24", "livebench_removal_date": "2024-08-31"}, True),
        ({"livebench_release_date": "2024-06-24", "livebench_removal_date": "2024-06-24"}, False),
        ({"livebench_release_date": "2024-07-26", "livebench_removal_date": ""}, False),
        ({"livebench_release_date": dt.datetime(2024, 6, 24), "livebench_removal_date": float("nan")}, True),
        (
            {
                "livebench_release_date": "2024-06-24 00:00:00",
                "livebench_removal_date": dt.date(2024, 11, 25),
            },
            True,
        ),
    ],
)
def test_release_rule(row: dict, kept: bool) -> None:
    assert in_release(row, "2024-06-24") is kept


def test_bad_inputs_give_one_line_errors(shared_data: Path, tmp_path: Path) -> None:
    with pytest.raises(SosbenchError, match=r"questions not found: .*nowhere"):
        load_questions(tmp_path / "nowhere")
    bad = tmp_path / "question.jsonl"
    bad.write_text('{"question_id": "a"\n')
    with pytest.raises(SosbenchError, match=r"question.jsonl:1: not valid JSON"):
        load_questions(bad)
    twice = tmp_path / "twice"
    twice.mkdir()
    for name in ("question_a.jsonl", "question_b.jsonl"):
        shutil.copy(shared_data / "livebench" / "questions_cta.jsonl", twice / name)
    with pytest.raises(SosbenchError, match="occurs twice"):
        load_questions(twice)
    with pytest.raises(SosbenchError, match="unknown LiveBench task"):
        load_questions(shared_data / "livebench", tasks=["spatial"])


def test_punkt_tab_is_written_offline_and_splits_sentences(tmp_path: Path) -> None:
    from nltk.data import FileSystemPathPointer
    from nltk.tokenize.punkt import PunktSentenceTokenizer, load_punkt_params

    folder = ensure_punkt_tab(tmp_path)
    assert folder == tmp_path / "tokenizers" / "punkt_tab" / "english"
    assert sorted(p.name for p in folder.iterdir()) == [
        "abbrev_types.txt",
        "collocations.tab",
        "ortho_context.tab",
        "sent_starters.txt",
    ]
    text = (
        "Hello Mr. Smith. He arrived at 5 p.m. on Jan. 3 and left. Dr. Who? Yes! "
        "It cost $3.50 in the U.S. today."
    )
    assert (
        len(PunktSentenceTokenizer(load_punkt_params(FileSystemPathPointer(str(folder)))).tokenize(text)) == 5
    )  # these very files
    assert ensure_punkt_tab(tmp_path) == folder  # idempotent
