"""Readers (run folders, lm-eval results JSON, LiveBench scores and CSVs) and the artifact-layout writers."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest
from _cli import sosbench_in_process
from _synthetic_runs import write_run_folder

from sosbench.errors import SosbenchError
from sosbench.results import (
    read_livebench_csv,
    read_livebench_scores,
    read_path,
    read_paths,
    read_results_json,
    read_run_folder,
    read_wide_csv,
    write_livebench_csvs,
    write_wide_csv,
)
from sosbench.suite import benchmarks, get_benchmark

LMEVAL = [b for b in benchmarks() if b.livebench is None]


@pytest.fixture(scope="module")
def eleuther_rows(shared_data: Path) -> dict[str, dict[str, str]]:
    with (shared_data / "artifacts" / "eleuther_wandb.csv").open(newline="") as handle:
        return {r["Name"]: r for r in csv.DictReader(handle)}


def test_wide_csv_reads_every_lmeval_benchmark_of_every_model(shared_data: Path, eleuther_rows) -> None:
    models = read_wide_csv(shared_data / "artifacts" / "eleuther_wandb.csv")
    assert sorted(models) == sorted(eleuther_rows)
    for name, results in models.items():
        assert sorted(results.benchmarks) == sorted(b.name for b in LMEVAL)
        bbh = results.benchmarks["bbh"]
        assert len(bbh.components) == 24
        for comp in bbh.components:
            assert comp.value == float(eleuther_rows[name][comp.column])
    wmdp = models["Llama-3-8B"].benchmarks["wmdp"].components
    assert [c.column for c in wmdp] == ["wmdp/acc"]
    # IFEval's instruction-level stderr is "N/A" in the artifact
    ifeval = {c.column.split("/")[1]: c for c in models["Llama-3-8B"].benchmarks["ifeval"].components}
    assert ifeval["inst_level_strict_acc"].stderr is None
    assert ifeval["prompt_level_strict_acc"].stderr == float(
        eleuther_rows["Llama-3-8B"]["leaderboard_ifeval/prompt_level_strict_acc_stderr"]
    )
    # n back-solved from the stderr: 541 IFEval prompts (protocol 2.1)
    assert models["Llama-3-8B"].benchmarks["ifeval"].n == 541


def _reference_results_json(row: dict[str, str]) -> dict:
    """A plain lm-eval results JSON with the paper's reference task names, built from one artifact row."""
    results: dict[str, dict] = {}
    for bench in LMEVAL:
        for column in bench.artifact:
            task, metric = column.split("/", 1)
            entry = results.setdefault(task, {"alias": task})
            entry[f"{metric},none"] = float(row[column])
            stderr = row.get(column + "_stderr", "N/A")
            entry[f"{metric}_stderr,none"] = stderr if stderr == "N/A" else float(stderr)
    return {
        "results": results,
        "config": {"model_args": "pretrained=someone/Llama-3-8B-bagel,dtype=bfloat16"},
    }


def test_plain_results_json_with_reference_task_names(tmp_path: Path, eleuther_rows) -> None:
    path = tmp_path / "results_2024-08-01T10-00-00.json"
    path.write_text(json.dumps(_reference_results_json(eleuther_rows["Llama-3-8B-bagel"])))
    results = read_results_json(path)
    assert results.model == "Llama-3-8B-bagel"
    assert sorted(results.benchmarks) == sorted(b.name for b in LMEVAL)
    assert results.benchmarks["bbq"].components[0].value == float(
        eleuther_rows["Llama-3-8B-bagel"]["bbq/acc"]
    )
    assert results.benchmarks["bbq"].components[0].column == "bbq/acc"


def test_plain_results_json_with_our_names_reads_timestamped_samples(tmp_path: Path) -> None:
    bench = get_benchmark("gpqa")
    results = {}
    for key in bench.result_keys():
        task, metric = key.split("/", 1)
        results[task] = {f"{metric},none": 0.5, f"{metric}_stderr,none": 0.1}
        with (tmp_path / f"samples_{task}_2024-08-01T10-00-00.jsonl").open("w") as handle:
            for i, v in enumerate([1, 0, 1, 1]):
                handle.write(json.dumps({"doc_id": i, metric: v}) + "\n")
    path = tmp_path / "results_2024-08-01T10-00-00.json"
    path.write_text(json.dumps({"results": results, "model_name": "org/my-model"}))
    got = read_results_json(path)
    assert got.model == "my-model"
    comps = got.benchmarks["gpqa"].components
    assert all(c.items is not None and c.value == 0.75 for c in comps)  # from the samples, not the aggregate
    assert comps[0].stderr == 0.1


def test_run_folder_reads_samples_livebench_and_skips_unfinished(tmp_path: Path) -> None:
    expected = write_run_folder(tmp_path / "run", "my-model", unfinished=("toxigen",))
    results = read_run_folder(tmp_path / "run")
    assert results.model == "my-model"
    assert "toxigen" not in results.benchmarks
    assert any("toxigen" in n and "unfinished" in n for n in results.notes)
    for name, result in results.benchmarks.items():
        mean = sum(c.value for c in result.components) / len(result.components)
        assert mean == pytest.approx(expected[name]), name
        assert result.has_items, name
    bbq = results.benchmarks["bbq"]
    assert len(bbq.components) == 1 and len(bbq.components[0].items) == bbq.n  # pooled over 11 splits
    ifeval = results.benchmarks["ifeval"].components
    assert [c.value for c in ifeval] == [0.25, 0.5, 0.5, 0.75]
    assert results.benchmarks["ifeval"].n == 4


def test_livebench_category_is_mean_of_task_means(tmp_path: Path) -> None:
    path = tmp_path / "scores.jsonl"
    rows = [
        # reasoning: web_of_lies_v2 mean 0.5, zebra_puzzle mean 1/3 -> category 5/12
        {"question_id": "a", "task": "web_of_lies_v2", "score": 1, "model": "m"},
        {"question_id": "b", "task": "web_of_lies_v2", "score": 0, "model": "m"},
        {"question_id": "c", "task": "zebra_puzzle", "score": 1, "model": "m"},
        {"question_id": "d", "task": "zebra_puzzle", "score": 0, "model": "m"},
        {"question_id": "e", "task": "zebra_puzzle", "score": 0, "model": "m"},
        # coding lacks coding_completion -> left out
        {"question_id": "f", "task": "LCB_generation", "score": 1, "model": "m"},
        # a task outside the 2024-06-24 set is ignored
        {"question_id": "g", "task": "spatial", "score": 1, "model": "m"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows))
    got = read_livebench_scores(path)["m"]
    assert sorted(got) == ["livebench-reasoning"]
    comps = got["livebench-reasoning"].components
    assert sum(c.value for c in comps) / len(comps) == pytest.approx(5 / 12)
    assert got["livebench-reasoning"].n == 5


def test_livebench_artifact_csvs(shared_data: Path) -> None:
    groups = read_livebench_csv(shared_data / "artifacts" / "livebench_groups.csv")
    tasks = read_livebench_csv(shared_data / "artifacts" / "livebench_tasks.csv")
    assert len(groups) == 148 and len(tasks) == 148
    sonnet = groups["claude-3-5-sonnet-20240620"]
    assert sonnet["livebench-coding"].components[0].value == pytest.approx(0.632)
    assert sonnet["livebench-coding"].n == 88  # 50 LCB_generation + 38 coding_completion
    # the empty LCB_generation cell leaves coding out for that model
    assert "livebench-coding" not in tasks["starcoder2-15b"] and "livebench-math" in tasks["starcoder2-15b"]
    reasoning = tasks["claude-3-5-sonnet-20240620"]["livebench-reasoning"].components
    assert [c.column for c in reasoning] == ["web_of_lies_v2", "zebra_puzzle"]


def test_exported_layouts_read_back(tmp_path: Path, shared_data: Path) -> None:
    write_run_folder(tmp_path / "run", "my-model")
    models = read_paths([tmp_path / "run"])
    wide = write_wide_csv(models, tmp_path / "out" / "sos_results.csv")
    groups, tasks = write_livebench_csvs(models, tmp_path / "out")
    again = read_wide_csv(wide)["my-model"]
    for name, result in models[0].benchmarks.items():
        if name.startswith("livebench"):
            continue
        assert [round(c.value, 6) for c in again.benchmarks[name].components] == [
            round(c.value, 6) for c in result.components
        ]
    lb = read_livebench_csv(groups)["my-model"]
    lt = read_livebench_csv(tasks)["my-model"]
    for name in lb:
        original = models[0].benchmarks[name].components
        category = sum(c.value for c in original) / len(original)
        # LiveBench's own rounding (one writer with `sosbench livebench score`): categories 1 decimal
        assert lb[name].components[0].value == pytest.approx(category, abs=0.0005)
        assert [c.value for c in lt[name].components] == pytest.approx([c.value for c in original], abs=1e-5)
    # the header matches the artifact's task CSV header
    with (shared_data / "artifacts" / "livebench_tasks.csv").open() as handle:
        assert tasks.read_text().splitlines()[0] == handle.readline().strip()


def test_same_model_from_two_inputs_is_merged(tmp_path: Path) -> None:
    write_run_folder(tmp_path / "run", "m", skip=tuple(b.name for b in benchmarks() if b.livebench))
    scores = tmp_path / "lb.jsonl"
    scores.write_text(
        json.dumps({"question_id": "a", "task": "web_of_lies_v2", "score": 1, "model": "m"})
        + "\n"
        + json.dumps({"question_id": "b", "task": "zebra_puzzle", "score": 0, "model": "m"})
        + "\n"
    )
    merged = read_paths([tmp_path / "run", scores])
    assert (
        len(merged) == 1 and "livebench-reasoning" in merged[0].benchmarks and "bbh" in merged[0].benchmarks
    )
    with pytest.raises(SosbenchError, match=r"lb\.jsonl: m livebench-reasoning was already read"):
        read_paths([scores, scores])


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (None, "missing.json", r"missing\.json: no such file"),
        ("{not json", "broken.json", r"broken\.json:1: not valid JSON"),
        (
            json.dumps({"results": {"hellaswag": {"acc,none": 0.5}}}),
            "other.json",
            r"other\.json: its tasks \(hellaswag\) match no SOS-Bench benchmark",
        ),
        (
            json.dumps({"results": {"leaderboard_bbh_navigate": {"acc_norm,none": 0.5}}}),
            "part.json",
            r"part\.json: benchmark bbh is incomplete \(1 of 24",
        ),
        (
            json.dumps({"results": {"sos_cdna": {"acc,none": "high"}}}),
            "nan.json",
            r"nan\.json: results\.sos_cdna\.acc,none: Value error, expected a number .*found 'high'",
        ),
        ("model,foo\nx,1\n", "weird.csv", r"weird\.csv: unknown CSV layout"),
        (
            json.dumps({"question_id": "a", "task": "hexapawn", "score": 1}),
            "lb.jsonl",
            r"lb\.jsonl: no row belongs to a LiveBench task",
        ),
        ("some text", "notes.txt", r"notes\.txt: unsupported input"),
    ],
)
def test_bad_inputs_give_one_line_errors_naming_the_file(tmp_path: Path, content, name, message) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    with pytest.raises(SosbenchError, match=message) as info:
        read_path(path)
    assert "\n" not in str(info.value)


def test_run_folder_errors(tmp_path: Path) -> None:
    write_run_folder(tmp_path / "run", "m", skip=tuple(b.name for b in benchmarks() if b.name != "cdna"))
    (tmp_path / "run" / "cdna" / "results.json").write_text("[1, 2")
    with pytest.raises(SosbenchError, match=r"cdna/results\.json:1: not valid JSON"):
        read_path(tmp_path / "run")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SosbenchError, match=r"empty: neither a run folder"):
        read_path(tmp_path / "empty")


def test_cli_error_is_one_line_naming_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.json"
    bad.write_text("{")
    proc = sosbench_in_process("score", str(bad))
    assert proc.returncode == 1
    assert proc.stderr.strip().count("\n") == 0
    assert proc.stderr.startswith(f"error: {bad}:1: not valid JSON")


def test_livebench_rows_as_a_json_list(tmp_path: Path) -> None:
    path = tmp_path / "scores.json"
    rows = [
        {"question_id": "a", "task": "web_of_lies_v2", "score": 1, "model_id": "m"},
        {"question_id": "b", "task": "zebra_puzzle", "score": 0.5, "model_id": "m"},
    ]
    path.write_text(json.dumps(rows))
    (model,) = read_path(path)
    assert model.model == "m"
    comps = model.benchmarks["livebench-reasoning"].components
    assert [c.value for c in comps] == [1.0, 0.5]


# ------------------------------------------------------------------ values that were silently wrong


def _one_benchmark_run(root: Path, name: str = "cdna") -> Path:
    write_run_folder(
        root, "m", skip=tuple(b.name for b in benchmarks() if b.name != name), with_samples=False
    )
    return root / name


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"acc,none": 7.5, "acc_stderr,none": 0.01}, r"sos_cdna/acc is 7\.5, not a score in \[0, 1\]"),
        ({"acc,none": 0.5, "acc_stderr,none": -0.01}, r"sos_cdna/acc stderr is -0\.01, not a standard error"),
        ({"acc,none": float("inf"), "acc_stderr,none": 0.01}, r"sos_cdna/acc is inf, not a score"),
        ({"acc,none": 0.5, "acc_stderr,none": float("inf")}, r"stderr is inf, not a standard error"),
        ({"acc,none": float("nan")}, r"sos_cdna/acc is nan, not a number"),
        ({"acc,none": 0.5, "accuracy": 0.5}, r"results\.sos_cdna: Value error, unknown key 'accuracy'"),
        ({"acc,none": True}, r"results\.sos_cdna\.acc,none: Value error, expected a number"),
    ],
)
def test_results_values_outside_their_range_are_refused(tmp_path: Path, entry: dict, message: str) -> None:
    folder = _one_benchmark_run(tmp_path / "run")
    (folder / "results.json").write_text(
        json.dumps({"results": {"sos_cdna": entry}})
    )  # Infinity/NaN literals
    with pytest.raises(SosbenchError, match=message) as info:
        read_path(tmp_path / "run")
    assert "\n" not in str(info.value)


def test_results_sections_are_typed(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    path.write_text(
        json.dumps({"results": {"sos_cdna": {"acc,none": 0.5}}, "n-samples": {"sos_cdna": {"original": "9"}}})
    )
    with pytest.raises(
        SosbenchError, match=r"n-samples\.sos_cdna\.original: Input should be a valid integer"
    ):
        read_results_json(path)
    path.write_text(json.dumps({"results": {"sos_cdna": {"acc,none": 0.5}}, "reslts": {}}))
    with pytest.raises(SosbenchError, match=r"reslts: Extra inputs are not permitted"):
        read_results_json(path)


def test_samples_log_values_are_checked(tmp_path: Path) -> None:
    write_run_folder(tmp_path / "run", "m", skip=tuple(b.name for b in benchmarks() if b.name != "cdna"))
    log = tmp_path / "run" / "cdna" / "samples_sos_cdna.jsonl"
    log.write_text(json.dumps({"doc_id": 0, "acc": "yes"}) + "\n")
    with pytest.raises(SosbenchError, match=r"samples_sos_cdna\.jsonl:1: acc is 'yes', not a number"):
        read_path(tmp_path / "run")
    log.write_text(json.dumps({"doc_id": 0, "acc": 3.0}) + "\n")
    with pytest.raises(SosbenchError, match=r"samples_sos_cdna\.jsonl:1: acc is 3\.0, not a score"):
        read_path(tmp_path / "run")


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        ("garbage", r"done\.json:1: not valid JSON"),
        ("[]", r"done\.json: expected a JSON object"),
        (json.dumps({"finished": "yes"}), r"done\.json: benchmark: Field required.*delete .*cdna and rerun"),
        (
            json.dumps({"benchmark": "cdna", "config_hash": "x", "extra": 1}),
            r"done\.json: extra: Extra inputs",
        ),
        (
            json.dumps({"benchmark": "bbq", "config_hash": "x"}),
            r"done\.json: marks benchmark 'bbq', not 'cdna'",
        ),
    ],
)
def test_a_garbage_done_marker_is_an_error_not_a_finished_benchmark(
    tmp_path: Path, marker: str, message
) -> None:
    folder = _one_benchmark_run(tmp_path / "run")
    (folder / "done.json").write_text(marker)
    with pytest.raises(SosbenchError, match=message):
        read_path(tmp_path / "run")


def test_a_done_marker_of_another_configuration_is_refused(tmp_path: Path) -> None:
    folder = _one_benchmark_run(tmp_path / "run")
    manifest = tmp_path / "run" / "manifest.json"
    manifest.write_text(json.dumps({**json.loads(manifest.read_text()), "config_hash": "y"}))
    with pytest.raises(SosbenchError, match=r"finished under another configuration"):
        read_path(tmp_path / "run")
    (folder / "done.json").write_text(json.dumps({"benchmark": "cdna", "config_hash": "y", "seconds": 2}))
    assert list(read_path(tmp_path / "run")[0].benchmarks) == ["cdna"]


def test_a_manifest_with_wrong_types_is_refused(tmp_path: Path) -> None:
    _one_benchmark_run(tmp_path / "run")
    (tmp_path / "run" / "manifest.json").write_text(json.dumps({"model_name": ["m"], "protocol": "paper"}))
    with pytest.raises(SosbenchError, match=r"manifest\.json: model_name: Input should be a valid string"):
        read_path(tmp_path / "run")


def test_the_parent_folder_of_models_runs_scores_each_model(tmp_path: Path) -> None:
    """`sosbench run --models` writes OUTPUT/<model_name>/: the parent reads as its models, not as 18
    benchmarks."""
    for name in ("llama-sft", "llama-dpo"):
        write_run_folder(tmp_path / "runs" / name, name, with_samples=False)
    models = read_paths([tmp_path / "runs"])
    assert [m.model for m in models] == ["llama-dpo", "llama-sft"]
    assert all(len(m.benchmarks) == len(benchmarks()) for m in models)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("model,average,coding\nm,,150\n", r"m/coding / 100 is 1\.5, not a score in \[0, 1\]"),
        ("model,average,coding\nm,,nan\n", r"m/coding / 100 is nan, not a score"),
    ],
)
def test_livebench_csv_values_are_checked(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "livebench_groups.csv"
    path.write_text(text)
    with pytest.raises(SosbenchError, match=message):
        read_path(path)


def test_wide_csv_values_are_checked(tmp_path: Path, shared_data: Path) -> None:
    rows = (shared_data / "artifacts" / "eleuther_wandb.csv").read_text().splitlines()
    header = rows[0].split(",")
    column = header.index("bbq/acc")
    cells = rows[1].split(",")
    cells[column] = "7.5"
    path = tmp_path / "eleuther_wandb.csv"
    path.write_text("\n".join([rows[0], ",".join(cells)]) + "\n")
    with pytest.raises(SosbenchError, match=r"bbq/acc is 7\.5, not a score"):
        read_path(path)


def test_livebench_score_rows_are_typed(tmp_path: Path) -> None:
    path = tmp_path / "scores.jsonl"
    path.write_text(json.dumps({"question_id": "a", "task": ["cta"], "score": 1}) + "\n")
    with pytest.raises(SosbenchError, match=r"row 1: task: Input should be a valid string"):
        read_path(path)
    path.write_text(json.dumps({"question_id": "a", "task": "cta", "score": 1, "scroe": 0}) + "\n")
    with pytest.raises(SosbenchError, match=r"row 1: scroe: Extra inputs are not permitted"):
        read_path(path)


def test_scoring_constants_are_validated(tmp_path: Path) -> None:
    from importlib.resources import files

    from sosbench.results import read_scoring_file, scoring_constants

    packaged = Path(str(files("sosbench").joinpath("data/scoring/scoring.yaml")))
    assert scoring_constants().answer_choices["gpqa"] == 4
    text = packaged.read_text()
    for broken, message in [
        (text.replace("answer_choices:", "answer_choice:"), r"answer_choices: Field required; and 1 more"),
        (text.replace("gpqa: 4", "gpqa: four"), r"answer_choices\.gpqa"),
        (text.replace("gpqa: 4", "gpqa: 1"), r"answer_choices 'gpqa' is 1: a chance level needs 2"),
        (
            text.replace("  cta: 50", "  cta: -3"),
            r"livebench_task_questions\.cta: Input should be greater than 0",
        ),
        (text.replace("version: 1", "version: 2"), r"version: Input should be 1"),
    ]:
        copy = tmp_path / "scoring.yaml"
        copy.write_text(broken)
        with pytest.raises(SosbenchError, match=message):
            read_scoring_file(copy)


def test_a_benchmark_folder_of_a_run_is_not_read_as_a_model(tmp_path: Path) -> None:
    """`sosbench score RUN/xstest` once scored the subfolder as a model named "xstest"."""
    write_run_folder(tmp_path / "run", "m", with_samples=False)
    for sub in ("xstest", "livebench-math"):
        with pytest.raises(
            SosbenchError, match=rf"{sub} is the {sub} benchmark of the run folder .*run, not a "
        ):
            read_paths([tmp_path / "run" / sub])


def test_items_carry_ids_prompt_hashes_and_details_on_request(tmp_path: Path) -> None:
    """What `sosbench compare` pairs on comes from this one reader: task:doc_id (LiveBench: question_id),
    lm-eval's prompt_hash (else a hash of the logged prompt), and the per-item view's text when asked."""
    write_run_folder(tmp_path / "run", "m")
    path = tmp_path / "run" / "gpqa" / "samples_leaderboard_gpqa_main.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    for row in rows:
        row.update(arguments={"gen_args_0": {"arg_0": f"Q{row['doc_id']}?"}}, target="B", resps=[["A"]])
    rows[0]["prompt_hash"] = "abc"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    plain = read_run_folder(tmp_path / "run").benchmarks
    items = next(c.items for c in plain["gpqa"].components if c.item_set == "leaderboard_gpqa_main")
    assert items.ids[:2] == ("leaderboard_gpqa_main:0", "leaderboard_gpqa_main:1")
    assert items.prompts[0] == "abc" and items.prompts[1] == hashlib.sha256(b"Q1?").hexdigest()
    assert items.details is None  # scoring does not keep the texts
    math = plain["livebench-math"].components[0]
    scores = (tmp_path / "run" / "livebench-math" / "livebench_scores.jsonl").read_text().splitlines()
    question_ids = [r["question_id"] for r in map(json.loads, scores) if r["task"] == math.key]
    assert math.items.ids == tuple(question_ids) and len(question_ids) > 1
    bbq = plain["bbq"].components[0].items
    assert len(set(bbq.ids)) == len(bbq) and bbq.ids[0].startswith("sos_bbq_")  # pooled, still unique
    gpqa = read_run_folder(tmp_path / "run", item_details=True).benchmarks["gpqa"].components
    detailed = next(c.items for c in gpqa if c.item_set == "leaderboard_gpqa_main")
    assert detailed.details[1] == {"prompt": "Q1?", "prefix": "", "response": "A", "gold": "B"}


def test_limit_and_protocol_are_read_from_runs_and_results_files(tmp_path: Path) -> None:
    write_run_folder(tmp_path / "run", "m")
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    (tmp_path / "run" / "manifest.json").write_text(json.dumps({**manifest, "config": {"limit": 30}}))
    run = read_run_folder(tmp_path / "run")
    assert (run.limit, run.protocol) == (30, "paper")
    data = json.loads((tmp_path / "run" / "gpqa" / "results.json").read_text())
    args = "pretrained=/models/org/Llama-3-8B-SFT/,dtype=bfloat16"
    path = tmp_path / "results_x.json"
    path.write_text(json.dumps({**data, "config": {"model_args": args, "limit": 0.1}}))
    plain = read_results_json(path)
    assert (plain.model, plain.limit, plain.protocol) == ("Llama-3-8B-SFT", 0.1, "paper")
    path.write_text(json.dumps({**data, "config": {"limit": "all"}}))
    with pytest.raises(SosbenchError, match=r"config\.limit is 'all', not a positive number"):
        read_results_json(path)


def test_one_model_name_rule_for_runs_and_results() -> None:
    from sosbench._io import model_name_from_args
    from sosbench.run._config import RunConfig

    assert model_name_from_args("pretrained=meta-llama/Meta-Llama-3-8B,dtype=bf16") == "Meta-Llama-3-8B"
    assert model_name_from_args({"model": "gpt-4o-2024-05-13"}) == "gpt-4o-2024-05-13"
    assert model_name_from_args({"dtype": "float32"}) is None and model_name_from_args(None) is None
    config = RunConfig("hf", {"pretrained": "./models/smol/"}, ("gpqa",), Path("o"))
    assert config.display_name() == "smol"
