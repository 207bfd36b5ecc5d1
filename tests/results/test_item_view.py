"""The per-item view's texts (sosbench.results._item_view): the option a model chose and the gold option, in
words, and the last question with its few-shot prefix cut off; on hand-made rows in both of lm-eval's layouts
and on a real lm-eval run over real items."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from sosbench.results import read_run_folder
from sosbench.results._item_view import choice_texts, fold_prompt
from sosbench.results._samples import item_detail

PREFIX = (
    "The following are questions.\n\nQ: 1 + 1?\nA. 2\nB. 3\nAnswer: A\n\nQ: 2 + 2?\nA. 5\nB. 4\nAnswer: B\n\n"
)
QUESTION = "Q: What is the capital of France?\nA. Lyon\nB. Paris\nC. Nice\nAnswer:"


def _row(lls: list[float], target: object, *, logged_by_lm_eval: bool = False) -> dict:
    """A multiple-choice sample: a run folder keeps lm-eval's lists; lm-eval's own --output_path files turn
    the requests into ``gen_args_i``/``arg_j`` and every response and the target into text."""
    context = PREFIX + QUESTION
    options = [" A", " B", " C"]
    row = {
        "doc_id": 0,
        "doc": {"question": "What is the capital of France?", "options": ["Lyon", "Paris", "Nice"]},
        "target": target,
        "arguments": [[context, o] for o in options],
        "resps": [[[ll, False]] for ll in lls],
        "filtered_resps": [[ll, False] for ll in lls],
    }
    if logged_by_lm_eval:
        row["arguments"] = {f"gen_args_{i}": {"arg_0": context, "arg_1": o} for i, o in enumerate(options)}
        row["resps"] = [[[str(ll), "False"]] for ll in lls]
        row["filtered_resps"] = [[str(ll), "False"] for ll in lls]
        row["target"] = str(target)
    return row


@pytest.mark.parametrize("logged_by_lm_eval", [False, True])
def test_multiple_choice_shows_the_chosen_and_the_gold_option(logged_by_lm_eval: bool) -> None:
    row = _row([-8.03, -16.99, -9.5], 1, logged_by_lm_eval=logged_by_lm_eval)
    detail = item_detail(row, "acc", {"num_fewshot": 2, "fewshot_delimiter": "\n\n", "target_delimiter": " "})
    assert detail == {"prompt": QUESTION, "prefix": PREFIX, "response": "A. Lyon", "gold": "B. Paris"}


def test_acc_norm_chooses_by_log_likelihood_per_character() -> None:
    """lm-eval's acc_norm: the highest log-likelihood divided by the option's length in characters."""
    row = {
        "arguments": [["Is it safe?", " safe"], ["Is it safe?", " unsafe"]],
        "filtered_resps": [[-5.0, False], [-5.5, False]],
        "target": 1,
    }
    assert choice_texts(row, "acc", "Is it safe?") == ("safe", "unsafe")  # -5.0 > -5.5
    assert choice_texts(row, "acc_norm", "Is it safe?") == ("unsafe", "unsafe")  # -5.5/6 > -5.0/4
    row["target"] = "safe"  # a gold given as the option's text (BBQ's doc_to_target)
    assert choice_texts(row, "acc", "Is it safe?") == ("safe", "safe")


def test_generations_and_one_request_rows_are_not_options() -> None:
    generated = {"arguments": [["Solve x + 1 = 2.", {"until": ["\n"]}]], "resps": [["x = 1"]], "target": "1"}
    assert choice_texts(generated, "exact_match", "") is None
    assert item_detail(generated, "exact_match") == {
        "prompt": "Solve x + 1 = 2.",
        "prefix": "",
        "response": "x = 1",
        "gold": "1",
    }
    ifeval = {
        "doc": {
            "prompt": "Write a poem without commas.",
            "instruction_id_list": ["punctuation:no_comma", "length_constraints:number_words"],
            "kwargs": [{}, {"relation": "at least", "num_words": 30, "num_paragraphs": None}],
        },
        "arguments": [["Write a poem without commas.", {"until": []}]],
        "resps": [["Roses are red"]],
        "target": 0,
    }
    assert item_detail(ifeval, "prompt_level_strict_acc", {"num_fewshot": 0})["gold"] == (
        "punctuation:no_comma; length_constraints:number_words (relation=at least, num_words=30)"
    )


def test_the_fold_needs_the_item_in_the_prompt_and_a_delimiter_before_it() -> None:
    doc = {"question": "What is the capital of France?"}
    assert fold_prompt(PREFIX + QUESTION, doc, 0) == ("", PREFIX + QUESTION)  # zero-shot: nothing to fold
    assert fold_prompt(PREFIX + QUESTION, doc, None) == (PREFIX, QUESTION)  # not recorded: tried
    assert fold_prompt(PREFIX + QUESTION, {"question": "Not in the prompt at all."}, 2)[0] == ""
    assert fold_prompt(QUESTION, doc, 2) == ("", QUESTION)  # no delimiter before the question
    chat = "<|im_start|>user\nQ: 1 + 1?<|im_end|>\n<|im_start|>assistant\nA<|im_end|>\n<|im_start|>user\n"
    assert fold_prompt(chat + QUESTION, doc, 1) == (chat, QUESTION)  # --fewshot_as_multiturn


def test_real_lm_eval_samples_read_as_words(tiny_model: Path, sample_mirror: Path, tmp_path: Path) -> None:
    """A real lm-eval run (the tiny model on real MMLU-Pro, BBH, BBQ and XSTest items): every multiple-choice
    item's chosen option equals its gold exactly when lm-eval scored it right, golds read as options
    ('safe'/'unsafe', 'B. 7.6 years'), and MMLU-Pro's five examples are folded above its question."""
    from _cli import run_args, sosbench

    out = tmp_path / "run"
    done = sosbench(*run_args(tiny_model, sample_mirror, out, ["mmlu-pro", "bbh", "bbq", "xstest"], limit=3))
    assert done.returncode == 0, done.stderr[-2000:]
    checked = 0
    for name, result in read_run_folder(out, item_details=True).benchmarks.items():
        for component in result.components:
            items = component.items
            assert items is not None and items.details is not None
            for right, detail in zip(items.num, items.details, strict=True):
                assert (detail["response"] == detail["gold"]) == (right == 1.0), (name, detail)
                assert not re.fullmatch(r"-?\d+\.\d+", detail["response"]), detail  # no log-likelihood
                checked += 1
            if name == "xstest":
                assert {d["gold"] for d in items.details} <= {"safe", "unsafe"}
            if name == "mmlu-pro":
                docs = [json.loads(line)["doc"] for line in _samples(out / name).splitlines()]
                for detail, doc in zip(items.details, docs, strict=True):
                    assert detail["prompt"].startswith(doc["question"]), detail["prompt"][:200]
                    assert detail["prefix"].count("\nAnswer: ") == 5  # the 5 examples, folded
                    assert detail["gold"] == f"{doc['answer']}. {doc['options'][doc['answer_index']]}"
    assert checked >= 3 * (1 + 24 + 11 + 1)


def _samples(folder: Path) -> str:
    (path,) = folder.glob("samples_*.jsonl")
    return path.read_text()
