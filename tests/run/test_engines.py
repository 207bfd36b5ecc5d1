"""sos-hf (sosbench.run.engines) against lm-eval's own hf model on real sample items.

A random float32 Llama with a BPE tokenizer trained on the sample data stands in for a real
model: equality of per-request loglikelihoods and greedy flags does not depend on the weights.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Any, ClassVar

import pytest
from _paths import REPO

torch = pytest.importorskip("torch")
pytest.importorskip("lm_eval")

from sosbench.errors import SosbenchError
from sosbench.run.engines import SOS_HF, RandomModelSpec, build_random_model, register_models
from sosbench.run.engines._plan import Leaf, Segment, plan, planned_tokens, scoring_window

TOLERANCE = 1e-4
TINY = RandomModelSpec(
    hidden_size=64,
    num_layers=2,
    num_heads=4,
    num_kv_heads=2,
    intermediate_size=128,
    vocab_size=0,
    tokenizer_vocab=2000,
)
EQUALITY_TASKS = [
    "speed_xstest",
    "speed_bbq_age",
    "speed_mmlu_pro",
    "speed_bbh_date_understanding",
    "speed_wmdp_bio",
]


def _sample_tasks_module() -> Any:
    """benchmarks/_sample_tasks.py: the sample-data task YAMLs the speed scripts use."""
    spec = importlib.util.spec_from_file_location("_sample_tasks", REPO / "benchmarks" / "_sample_tasks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def sample_tasks(shared_data: Path) -> Any:
    return _sample_tasks_module()


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory, sample_tasks: Any, shared_data: Path) -> Path:
    folder = tmp_path_factory.mktemp("tiny_llama")
    build_random_model(TINY, sample_tasks.corpus(shared_data), folder=folder)
    return folder


def _model(name: str, folder: Path, **args: Any) -> Any:
    from lm_eval.api.registry import get_model

    register_models()
    return get_model(name)(pretrained=str(folder), device="cpu", dtype="float32", **args)


@pytest.fixture(scope="module")
def hf(model_dir: Path) -> Any:
    return _model("hf", model_dir, batch_size=4)


@pytest.fixture(scope="module")
def sos(model_dir: Path) -> Any:
    from lm_eval.api.registry import get_model

    register_models()
    return get_model(SOS_HF).create_from_arg_string(
        f"pretrained={model_dir},device=cpu,dtype=float32,max_batch_tokens=2048"
    )


@pytest.fixture(scope="module")
def instances(sample_tasks: Any, tmp_path_factory: pytest.TempPathFactory) -> list[Any]:
    """Real loglikelihood requests: 5 docs of each task, built by lm-eval from the sample files."""
    manager, names = sample_tasks.task_manager(tmp_path_factory.mktemp("tasks"), EQUALITY_TASKS)
    requests = []
    for task in manager.load(names)["tasks"].values():
        task.build_all_requests(limit=8, rank=0, world_size=1)
        requests.extend(task.instances)
    return requests


def _assert_same(expected: list[tuple[float, bool]], got: list[tuple[float, bool]]) -> None:
    assert len(got) == len(expected)
    for (ll, greedy), (ll2, greedy2) in zip(expected, got, strict=True):
        assert ll2 == pytest.approx(ll, abs=TOLERANCE)
        assert greedy2 == greedy


# ---------------------------------------------------------------------------- registration


def test_register_models_is_idempotent_and_keeps_lm_eval_models() -> None:
    from lm_eval.api.registry import get_model

    register_models()
    register_models()
    assert get_model(SOS_HF).__name__ == "PrefixCacheHFLM"
    register_models()  # after the placeholder turned into the class
    assert get_model("hf").__name__ == "HFLM"


def test_importing_engines_loads_neither_torch_nor_lm_eval() -> None:
    code = "import sys, sosbench.run.engines; print('torch' in sys.modules, 'lm_eval' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


# ---------------------------------------------------------------------------- equality with hf


def test_loglikelihood_equals_hf_on_sample_tasks(hf: Any, sos: Any, instances: list[Any]) -> None:
    before = sos.token_counts.tokens
    _assert_same(
        hf.loglikelihood(instances, disable_tqdm=True), sos.loglikelihood(instances, disable_tqdm=True)
    )
    # hf runs each distinct window whole (its logits cache merges only identical windows)
    windows = {scoring_window(*hf._encode_pair(*req.args), hf.max_length) for req in instances}
    hf_tokens = sum(len(w.prefix) + len(w.suffix) for w in windows)
    assert sos.token_counts.tokens - before < 0.35 * hf_tokens


def _greedy(model: Any, context: list[int], steps: int) -> list[int]:
    tokens = list(context)
    with torch.no_grad():
        for _ in range(steps):
            tokens.append(int(model.model(torch.tensor([tokens])).logits[0, -1].argmax()))
    return tokens[len(context) :]


def test_greedy_flags_and_overlapping_continuations_equal_hf(hf: Any, sos: Any, instances: list[Any]) -> None:
    """Continuations the model would generate (greedy True), their prefixes and a spoiled copy."""
    requests = []
    for instance in instances[::25]:
        context, _ = hf._encode_pair(*instance.args)
        best = _greedy(hf, context, 3)
        spoiled = [*best[:2], (best[2] + 1) % 100]
        requests += [
            (("c", str(i)), context, cont) for i, cont in enumerate((best, best[:1], best[:2], spoiled))
        ]
    expected = hf._loglikelihood_tokens(requests, disable_tqdm=True)
    _assert_same(expected, sos._loglikelihood_tokens(requests, disable_tqdm=True))
    assert sum(greedy for _, greedy in expected) >= 3 * len(requests) // 4


def test_truncated_windows_equal_hf(model_dir: Path, instances: list[Any]) -> None:
    """Contexts longer than max_length are cut from the left per continuation, as in hf."""
    short_hf = _model("hf", model_dir, batch_size=4, max_length=48)
    short_sos = _model(SOS_HF, model_dir, max_length=48, max_batch_tokens=256)
    bbq = [i for i in instances if i.task_name == "speed_bbq_age"]
    _assert_same(
        short_hf.loglikelihood(bbq, disable_tqdm=True), short_sos.loglikelihood(bbq, disable_tqdm=True)
    )


def test_loglikelihood_rolling_equals_hf(model_dir: Path, shared_data: Path) -> None:
    from lm_eval.api.instance import Instance

    texts = (shared_data / "samples" / "xstest.jsonl").read_text(encoding="utf-8").splitlines()[:3]
    requests = [
        Instance("loglikelihood_rolling", doc={}, arguments=(text,), idx=0, metadata=("r", i, 1))
        for i, text in enumerate(texts)
    ]
    short_hf = _model("hf", model_dir, batch_size=2, max_length=32)
    short_sos = _model(SOS_HF, model_dir, max_length=32)
    expected = short_hf.loglikelihood_rolling(requests, disable_tqdm=True)
    assert short_sos.loglikelihood_rolling(requests, disable_tqdm=True) == pytest.approx(
        expected, abs=TOLERANCE
    )


def test_generate_until_equals_hf(hf: Any, sos: Any, shared_data: Path) -> None:
    import json

    from lm_eval.api.instance import Instance

    rows = [
        json.loads(line) for line in (shared_data / "samples" / "ifeval.jsonl").read_text().splitlines()[:3]
    ]
    kwargs = {"until": ["\n\n"], "max_gen_toks": 8, "do_sample": False}
    requests = [
        Instance(
            "generate_until", doc=row, arguments=(row["prompt"], dict(kwargs)), idx=0, metadata=("g", i, 1)
        )
        for i, row in enumerate(rows)
    ]
    assert sos.generate_until(requests, disable_tqdm=True) == hf.generate_until(requests, disable_tqdm=True)


# ---------------------------------------------------------------------------- batching


def test_batches_stay_within_the_token_budget(model_dir: Path, instances: list[Any]) -> None:
    budget = 1024
    small = _model(SOS_HF, model_dir, max_batch_tokens=budget)
    shapes = []

    def record(_module: Any, args: tuple, kwargs: dict) -> None:
        cache = kwargs.get("cache")
        cached = cache.get_seq_length() if cache is not None else 0
        shapes.append((kwargs["input_ids"].shape[0], kwargs["input_ids"].shape[1] + cached))

    handle = small.model.register_forward_pre_hook(record, with_kwargs=True)
    try:
        small.loglikelihood(instances, disable_tqdm=True)
    finally:
        handle.remove()
    assert len(shapes) == small.token_counts.forward_calls > 2
    assert all(rows * width <= budget or rows == 1 for rows, width in shapes)
    assert max(rows for rows, _ in shapes) > 1


def test_batches_are_longest_first_within_budget_and_padding_cap() -> None:
    from types import SimpleNamespace

    from sosbench.run.engines._prefix_cache_hf import MAX_PADDING, PrefixCacheHFLM

    lengths = [30, 100, 10, 80, 90, 40, 100, 95]
    pairs = [(Leaf(tuple(range(n)), 1, ()), None) for n in lengths]
    batches = list(PrefixCacheHFLM._batches(SimpleNamespace(max_batch_tokens=300), pairs, None))
    sizes = [[len(item.tokens) for item in batch.items] for batch in batches]
    assert [n for batch in sizes for n in batch] == sorted(lengths, reverse=True)
    for batch in sizes:
        area = len(batch) * max(batch)
        assert area <= 300 or len(batch) == 1
        assert area - sum(batch) <= MAX_PADDING * area
    assert sizes[0] == [100, 100, 95]  # the budget, not the padding, closes the first batch


# ---------------------------------------------------------------------------- batch_size=auto, defaults


def _record_shapes(lm: Any) -> tuple[list[tuple[int, int]], Any]:
    shapes: list[tuple[int, int]] = []

    def record(_module: Any, args: tuple, kwargs: dict) -> None:
        ids = kwargs.get("input_ids", args[0] if args else None)
        shapes.append(tuple(ids.shape))

    return shapes, lm.model.register_forward_pre_hook(record, with_kwargs=True)


def test_auto_batch_size_is_the_token_budget_without_a_probe(model_dir: Path, shared_data: Path) -> None:
    """hf's auto runs 5 passes of max_batch_size rows at max_length before generating; sos-hf runs none."""
    import json

    from lm_eval.api.instance import Instance

    lm = _model(SOS_HF, model_dir, batch_size="auto", max_batch_tokens=512, max_length=256)
    rows = [
        json.loads(line) for line in (shared_data / "samples" / "ifeval.jsonl").read_text().splitlines()[:6]
    ]
    kwargs = {"until": ["\n\n"], "max_gen_toks": 4, "do_sample": False}
    requests = [
        Instance(
            "generate_until",
            doc=row,
            arguments=(row["prompt"][:200], dict(kwargs)),
            idx=0,
            metadata=("g", i, 1),
        )
        for i, row in enumerate(rows)
    ]
    longest = max(min(len(lm.tok_encode(r.args[0])), 256 - 4) + 4 for r in requests)
    shapes, handle = _record_shapes(lm)
    try:
        lm.generate_until(requests, disable_tqdm=True)
    finally:
        handle.remove()
    assert shapes and all(width < 256 for _, width in shapes)  # never a pass at max_length: no probe
    assert max(rows for rows, _ in shapes) == min(512 // longest, len(requests))
    # loglikelihood_rolling and hf's fallback path ask with no requests: the budget at max_length
    assert lm._detect_batch_size() == 512 // 256
    assert _model(SOS_HF, model_dir, max_batch_tokens=10**6)._detect_batch_size() == 64  # max_batch_size


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("sos-hf", "auto"),
        ("hf", "4"),
        ("hf-auto", "4"),
        ("vllm", "auto"),
        ("local-completions", "auto"),
        ("hff", "auto"),
    ],
)
def test_default_batch_size_never_probes(model: str, expected: str) -> None:
    from sosbench.run.engines import default_batch_size

    assert default_batch_size(model) == expected


@pytest.mark.parametrize(("given", "probes"), [([], False), (["--batch-size", "auto"], True)])
def test_run_without_batch_size_never_probes(
    given: list[str], probes: bool, tiny_model: Path, sample_mirror: Path, tmp_path: Path
) -> None:
    """`sosbench run --model hf` without --batch-size: no probe; `--batch-size auto` still asks for one."""
    args = ["run", "--model", "hf", "--model-args", f"pretrained={tiny_model},dtype=float32",
            "--device", "cpu", "--benchmarks", "xstest", "--limit", "2", "--data-dir", str(sample_mirror),
            "--output", str(tmp_path / "o"), *given]  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "sosbench.cli", *args], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert ("Detecting largest batch size" in done.stdout + done.stderr) is probes  # lm-eval's probe message


# ---------------------------------------------------------------------------- generation backend


class _FakeBackend:
    """Stands in for lm-eval's vllm model: records how it was built and what it was asked."""

    built: ClassVar[list[dict[str, Any]]] = []

    def __init__(self, **options: Any) -> None:
        self.built.append(options)

    def generate_until(self, requests: list[Any], disable_tqdm: bool = False) -> list[str]:
        return [f"fake:{request.args[0][:5]}" for request in requests]


def test_generate_backend_is_created_lazily_once_with_its_options(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lm_eval.api.instance import Instance
    from lm_eval.api.registry import model_registry

    from sosbench.run.engines import _prefix_cache_hf

    if "sos-test-fake-generator" not in model_registry:
        model_registry.register("sos-test-fake-generator", target=_FakeBackend)
    monkeypatch.setitem(_prefix_cache_hf.GENERATE_BACKENDS, "fake", ("sos-test-fake-generator", "json", "hf"))
    _FakeBackend.built.clear()
    lm = _model(SOS_HF, model_dir, generate_backend="fake", generate_gpu_memory_utilization=0.4)
    assert _FakeBackend.built == []
    request = Instance("generate_until", doc={}, arguments=("Hello there", {"until": ["\n"]}), idx=0)
    assert lm.generate_until([request]) == ["fake:Hello"]
    assert lm.generate_until([request]) == ["fake:Hello"]
    # the same weights in the same dtype (sos-hf's dtype=float32), plus the backend's own options
    assert _FakeBackend.built == [
        {"pretrained": str(model_dir), "revision": "main", "dtype": "float32", "gpu_memory_utilization": 0.4}
    ]


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vllm is installed")
def test_missing_vllm_fails_before_loading_the_model(tmp_path: Path) -> None:
    with pytest.raises(
        SosbenchError, match=r"vllm is not installed: run `pip install -e '\.\[vllm\]'` in the sosbench clone"
    ):
        _model(SOS_HF, tmp_path, generate_backend="vllm")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"max_batch_tokens": 0}, r"max_batch_tokens=0 must be a positive whole number"),
        ({"min_shared_tokens": "many"}, r"min_shared_tokens='many' must be a positive whole number"),
        ({"generate_backend": "tgi"}, r"generate_backend='tgi' is not one of hf, vllm, sglang"),
        ({"generate_max_model_len": 4096}, r"generate_max_model_len need generate_backend=vllm"),
    ],
)
def test_bad_model_args_are_one_line_errors(tmp_path: Path, args: dict[str, Any], message: str) -> None:
    with pytest.raises(SosbenchError, match=message):
        _model(SOS_HF, tmp_path, **args)


# ---------------------------------------------------------------------------- the plan


def _targets(items: list[Any]) -> list[int]:
    found = []
    for item in items:
        if isinstance(item, Leaf):
            found += [t.request for t in item.targets]
        else:
            found += _targets(list(item.children))
    return found


def test_plan_runs_a_shared_fewshot_prefix_once_and_folds_short_segments() -> None:
    fewshot = tuple(range(100, 140))  # 40 shared tokens
    docs = [(*fewshot, 1, 2, 3), (*fewshot, 4, 5, 6)]
    windows = [scoring_window(list(doc), [7 + c, 8], max_length=100) for doc in docs for c in range(3)]
    items = plan(windows, min_shared=16)
    assert len(items) == 1 and isinstance(items[0], Segment)
    top = items[0]
    assert top.tokens == fewshot  # runs once; the 2-token doc parts are shorter than 16: folded
    assert sorted(_targets(items)) == list(range(6))
    assert all(isinstance(child, Leaf) and len(child.tokens) == 2 + 2 for child in top.children)
    assert planned_tokens(items) == 40 + 6 * 4
    # with a low threshold each document's own tokens become a segment of their own
    deeper = plan(windows, min_shared=1)
    assert [len(child.tokens) for child in deeper[0].children] == [2, 2]


def test_plan_shares_rows_of_identical_windows_and_keeps_unshared_rows_whole() -> None:
    one_token = [scoring_window([1, 2, 3], [c], max_length=100) for c in (10, 11, 12)]
    alone = scoring_window([9, 9, 9, 9], [5, 6], max_length=100)
    items = plan([*one_token, alone], min_shared=1)
    leaves = sorted((i for i in items if isinstance(i, Leaf)), key=lambda leaf: leaf.tokens)
    assert [leaf.tokens for leaf in leaves] == [(1, 2, 3), (9, 9, 9, 9, 5)]
    assert [len(leaf.targets) for leaf in leaves] == [3, 1]
    assert leaves[1].n_scored == 2


def test_scoring_window_is_hf_s_left_truncated_input() -> None:
    window = scoring_window(list(range(10)), [20, 21], max_length=5)
    assert window.prefix == (6, 7, 8) and window.suffix == (9, 20) and window.continuation == (20, 21)


# ---------------------------------------------------------------------------- sosbench model convert


def test_model_convert_refuses_what_is_no_gguf_or_would_overwrite(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from sosbench.cli import app

    text = tmp_path / "model.gguf"
    text.write_text("not a gguf file")
    out = tmp_path / "out"
    (out / "keep").parent.mkdir()
    (out / "keep").write_text("x")
    gguf = tmp_path / "real.gguf"
    gguf.write_bytes(b"GGUF" + bytes(8))
    for args, expected in (
        (
            [str(tmp_path / "missing.gguf"), str(tmp_path / "m")],
            "missing.gguf: no such file: give the .gguf file to convert",
        ),
        ([str(text), str(tmp_path / "m")], "model.gguf: not a GGUF file (it does not start with GGUF)"),
        ([str(gguf), str(out)], "out is not empty: choose a new folder, or pass --overwrite to replace it"),
        (
            [str(gguf), str(tmp_path / "m"), "--dtype", "int4"],
            "unknown --dtype 'int4': use float32, bfloat16, float16",
        ),
    ):
        result = CliRunner().invoke(app, ["model", "convert", *args])
        assert result.exit_code == 1, result.output
        (line,) = result.stderr.strip().splitlines()
        assert line.startswith("error: ") and line.endswith(expected), line
    assert (out / "keep").read_text() == "x" and not (tmp_path / "m").exists()
