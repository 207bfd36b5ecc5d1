"""`sosbench run --dry-run`: the work of a run counted before it starts, and its predicted time.

The counts are checked against what a real run of the same command sent (its samples files, tokenized
independently with the model's tokenizer); the prediction against its formula. The calibrated
prediction against a real run's wall time is in tests/run/test_vllm.py (vllm tier) and
benchmarks/cost_prediction.py.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from _cli import run_args, sosbench

from sosbench.errors import SosbenchError
from sosbench.run._cost._estimate import predicted_seconds
from sosbench.run._cost._rates import Rates, Throughput, parse_throughput
from sosbench.run._cost._work import BenchmarkWork, _scale, _TaskCount, engine_tokens
from sosbench.suite import get_benchmark

# ---------------------------------------------------------------------------- the model (no engine)


def test_throughput_is_three_positive_figures() -> None:
    given = parse_throughput("prefill=20000,decode=2500,load=90")
    assert (given.prefill_tokens_per_s, given.decode_tokens_per_s, given.load_seconds) == (20000, 2500, 90)
    for bad in ("prefill=1,decode=2", "prefill=1,decode=0,load=1", "prefill=x,decode=1,load=1", "fast"):
        with pytest.raises(SosbenchError, match=r"prefill=<tokens/s>,decode=<tokens/s>,load=<seconds>"):
            parse_throughput(bad)


def test_prediction_is_setup_plus_tokens_over_rates() -> None:
    work = BenchmarkWork("ifeval", 1, engine_tokens=1000, generation_prompt_tokens=500,
                         generation_budget=2000, load_seconds=2.0, build_seconds=1.0)  # fmt: skip
    rates = Throughput(100.0, 10.0, 5.0, "test")
    assert predicted_seconds(work, rates) == pytest.approx(3.0 + 1500 / 100 + 2000 / 10)
    own = Throughput(100.0, 10.0, 5.0, "test", {"ifeval": Rates(prompts=250.0, decode=20.0, fill=0.5)})
    assert predicted_seconds(work, own) == pytest.approx(3.0 + 1000 / 100 + 500 / 250 + 2000 * 0.5 / 20)
    assert predicted_seconds(replace(work, name="bbq"), own) == predicted_seconds(work, rates)


def test_engine_tokens_follow_each_engine() -> None:
    shared = list(range(40))  # a 40-token few-shot prefix below which two questions branch
    pairs = [
        ([*shared, 100, 101], [7]),
        ([*shared, 100, 101], [8]),  # same context, another one-token choice
        ([*shared, 200, 201, 202], [9, 10]),
    ]
    whole = sum(len(c) + len(k) for c, k in pairs)
    assert engine_tokens("vllm", pairs, 4096) == whole  # each prompt whole
    # hf: one window per request, one-token choices of one context share theirs
    assert engine_tokens("hf", pairs, 4096) == 42 + (43 + 1)
    # sos-hf: the shared prefix once, then what differs
    assert engine_tokens("sos-hf", pairs, 4096) < engine_tokens("hf", pairs, 4096)
    assert engine_tokens("vllm", pairs, 10) == 10 * len(pairs)  # left-truncated to max_length


def _count(available: int, documents: int) -> _TaskCount:
    return _TaskCount(available, documents, documents, 10 * documents, 10 * documents, 0, 0, 0, 0.1)


def test_a_sample_is_scaled_to_the_registry_size_and_full_data_is_not() -> None:
    bbq = get_benchmark("bbq")  # 58,500 items in the registry
    sample = [_count(8, 8) for _ in range(11)]  # 11 splits of 8 sample items
    factor, note = _scale(sample, bbq, None)
    assert factor * 88 == pytest.approx(bbq.size) and "88 of the 58,500 documents" in note
    assert _scale(sample, bbq, 2) == (1.0, "")  # every document a --limit 2 run evaluates is there
    factor, _ = _scale(sample, bbq, 20)  # at --limit 20 each split of the full data gives 20
    assert factor * 88 == pytest.approx(11 * 20)
    full = [_count(5318, 5318) for _ in range(11)]
    assert _scale(full, bbq, None) == (1.0, "")


# ---------------------------------------------------------------------------- the command

BENCHMARKS = ["xstest", "bbq", "ifeval", "livebench-reasoning"]


def _dry_run(tiny_model: Path, mirror: Path, out: Path, *extra: str, limit: int = 2) -> dict[str, Any]:
    args = run_args(tiny_model, mirror, out, BENCHMARKS, limit=limit, backend="sos-hf")
    result = sosbench(*args, "--dry-run", "--format", "json", *extra)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def _rows(folder: Path) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for path in sorted(folder.glob("samples_*.jsonl"))
        for line in path.read_text().splitlines()
    ]


def test_dry_run_counts_what_the_run_then_sends(
    tiny_model: Path, sample_mirror: Path, tmp_path: Path
) -> None:
    """Documents, requests, prompt tokens (the model's tokenizer) and generation budget per benchmark
    equal those of the run's own requests, and nothing is written by the dry run."""
    from transformers import AutoTokenizer

    predicted = _dry_run(tiny_model, sample_mirror, tmp_path / "run")
    assert not (tmp_path / "run").exists()
    ran = sosbench(*run_args(tiny_model, sample_mirror, tmp_path / "run", BENCHMARKS, backend="sos-hf"))
    assert ran.returncode == 0, ran.stderr[-3000:]
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model))

    def tokens(text: str) -> int:
        return len(tokenizer.encode(text, add_special_tokens=False))

    counted = {b["name"]: b for b in predicted["benchmarks"]}
    assert set(counted) == set(BENCHMARKS)
    for bench in BENCHMARKS:
        rows, got = _rows(tmp_path / "run" / bench), counted[bench]
        requests = [argument for row in rows for argument in row["arguments"]]
        generation = [a for a in requests if isinstance(a[1], dict)]
        prompt = sum(tokens(a[0] + a[1]) if isinstance(a[1], str) else tokens(a[0]) for a in requests)
        assert (got["documents"], got["requests"]) == (len(rows), len(requests)), bench
        assert got["prompt_tokens"] == prompt, bench
        assert got["generation_requests"] == len(generation), bench
        assert (
            got["generation_budget"] == sum(a[1]["max_gen_toks"] for a in generation) == 8 * len(generation)
        )
        assert got["units"] == 1 and got["data"] == "full"  # --limit 2: the sample holds every item run
    assert predicted["predicted_seconds"] == pytest.approx(
        predicted["throughput"]["load_seconds"]
        + sum(b["predicted_seconds"] for b in predicted["benchmarks"]),
        abs=0.2,
    )
    assert predicted["throughput"]["source"].startswith("uncalibrated")


def test_a_sample_mirror_is_extrapolated_to_the_full_benchmark_and_says_so(
    tiny_model: Path, sample_mirror: Path, tmp_path: Path
) -> None:
    args = run_args(tiny_model, sample_mirror, tmp_path / "o", ["bbq"], backend="hf")
    args[args.index("--limit") : args.index("--limit") + 2] = []  # the whole benchmark
    result = sosbench(*args, "--dry-run", "--format", "json", "--throughput", "prefill=1000,decode=10,load=5")
    assert result.returncode == 0, result.stderr[-3000:]
    bbq = json.loads(result.stdout)["benchmarks"][0]
    assert bbq["data"] == "sample" and bbq["documents"] == 88
    full = bbq["full"]
    assert full["extrapolated"] and full["documents"] == get_benchmark("bbq").size
    assert full["requests"] == 3 * full["documents"] and full["predicted_seconds"] > bbq["predicted_seconds"]
    assert "88 of the 58,500 documents" in full["note"]
    table = sosbench(*args, "--dry-run", "--throughput", "prefill=1000,decode=10,load=5")
    assert "bbq: a sample, extrapolated to the registry size" in table.stdout
    assert "on the full benchmarks" in table.stdout
    csv = sosbench(*args, "--dry-run", "--throughput", "prefill=1000,decode=10,load=5",
                   env={**os.environ, "SOSBENCH_FORMAT": "csv"})  # fmt: skip
    header, row = csv.stdout.splitlines()
    assert header.startswith("model,benchmark,documents,requests,units,prompt_tokens,generation_budget,data,")
    assert row.split(",")[1:3] == ["bbq", "88"]


def test_calibrate_measures_the_model_on_the_runs_first_requests(
    tiny_model: Path, sample_mirror: Path, tmp_path: Path
) -> None:
    predicted = _dry_run(tiny_model, sample_mirror, tmp_path / "o", "--calibrate")
    rates = predicted["throughput"]
    assert rates["source"].startswith("calibrated")
    assert (
        rates["prefill_tokens_per_s"] > 0 and rates["decode_tokens_per_s"] > 0 and rates["load_seconds"] > 0
    )
    own = rates["per_benchmark"]
    assert set(own) == set(BENCHMARKS)
    for name in ("xstest", "bbq"):  # loglikelihood only
        assert own[name]["prefill_tokens_per_s"] > 0 and own[name]["decode_tokens_per_s"] is None
    for name in ("ifeval", "livebench-reasoning"):  # generation only
        assert own[name]["prefill_tokens_per_s"] is None
        assert own[name]["generation_prefill_tokens_per_s"] > 0 and own[name]["decode_tokens_per_s"] > 0
        assert 0.0 <= own[name]["generation_fill"] <= 1.0
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--calibrate"], "--calibrate and --throughput predict a run's cost: add --dry-run"),
        (["--dry-run", "--throughput", "fast"], "--throughput 'fast': give prefill="),
        (
            ["--dry-run", "--calibrate", "--throughput", "prefill=1,decode=1,load=1"],
            "give either --calibrate",
        ),
    ],
)
def test_bad_cost_options_are_one_line(extra: list[str], message: str, tmp_path: Path) -> None:
    result = sosbench("run", "--model", "hf", "--model-args", "pretrained=gpt2", "-b", "xstest",
                      "-o", str(tmp_path / "o"), *extra)  # fmt: skip
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and message in errors[0], result.stderr
