"""The run-folder contract: typed manifests and done markers, byte-compatible with the folders already
written, and the only module that names a run folder's files."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from sosbench import rundir
from sosbench._io import write_json_atomic
from sosbench.errors import SosbenchError
from sosbench.rundir import DoneMarker, Manifest, RunDir, read_done, read_manifest

SRC = Path(rundir.__file__).parent

# A manifest as `sosbench run` writes it (and wrote it, as a dict literal, before the contract existed).
MANIFEST = {
    "schema_version": 1,
    "sosbench": "0.1.0",
    "lm_eval": "0.4.13",
    "torch": "2.13.0",
    "transformers": "4.57.1",
    "datasets_version": "4.4.1",
    "protocol": "paper",
    "livebench_sandbox": "bwrap",
    "livebench_sandbox_limits": {
        "mode": "bwrap",
        "budget": "rlimit",
        "memory_bytes": 2147483648,
        "processes": 64,
    },
    "model": "hf",
    "model_args": {"pretrained": "/models/tiny-llama", "dtype": "float32"},
    "model_name": "tiny-llama",
    "config": {
        "model": "hf",
        "model_args": {"pretrained": "/models/tiny-llama", "dtype": "float32"},
        "protocol": "paper",
        "limit": 4,
        "apply_chat_template": False,
        "gen_kwargs": None,
    },
    "config_hash": "0123456789abcdef",
    "data_dir": "/data/mirror",
    "benchmarks": ["xstest", "bbq"],
    "datasets": {
        "walledai/XSTest": {
            "configs": [None],
            "splits": ["test"],
            "revision": None,
            "source": "mirror",
            "data_dir": "/data/mirror",
        },
    },
    "chat_template_sha256": None,
    "started": "2026-01-02T03:04:05Z",
    "finished": None,
    "timings": {"xstest": 12.5, "bbq": 0.0},
}
# The first release's manifest: no sandbox fields, no chat template hash, no per-dataset mirror.
FIRST_MANIFEST = {
    **{k: v for k, v in MANIFEST.items() if not k.startswith(("livebench_sandbox", "chat_template"))},
    "datasets": {
        "walledai/XSTest": {"configs": [None], "splits": ["test"], "revision": None, "source": "hub"}
    },
    "config": {"model": "hf", "limit": 4},
    "timings": {"xstest": 12},
}


def test_manifests_and_markers_round_trip_byte_for_byte(tmp_path: Path) -> None:
    """What the untyped writers wrote, the typed models write again unchanged."""
    run = RunDir(tmp_path)
    write_json_atomic(run.manifest, MANIFEST)
    written = run.manifest.read_bytes()
    run.write_manifest(run.read_manifest())
    assert run.manifest.read_bytes() == written
    unit = {
        "benchmark": "bbq",
        "config_hash": "0123456789abcdef",
        "seconds": 1.5,
        "finished": "x",
        "shard": 1,
    }
    shard_dir = run.shards("bbq")
    staging = shard_dir.start("1-of-2")
    write_json_atomic(staging / "expected.json", {**unit, "shards": 2})
    shard_dir.finish("1-of-2", DoneMarker(**unit, shards=2))
    folder = shard_dir.benchmark("1-of-2")
    assert (folder / "done.json").read_bytes() == (folder / "expected.json").read_bytes()


def test_a_folder_of_the_first_release_still_reads(tmp_path: Path) -> None:
    write_json_atomic(tmp_path / "manifest.json", FIRST_MANIFEST)
    manifest = read_manifest(tmp_path / "manifest.json")
    assert (
        manifest.chat_template_sha256 is None and manifest.limit == 4 and manifest.timings == {"xstest": 12.0}
    )
    assert manifest.datasets is not None and manifest.datasets["walledai/XSTest"].data_dir is None


def test_shards_are_done_under_their_benchmark(tmp_path: Path) -> None:
    shards = RunDir(tmp_path).shards("bbq")
    shards.start("0-of-2")
    shards.finish("0-of-2", DoneMarker(benchmark="bbq", config_hash="h", shard=0, shards=2))
    assert shards.is_done("0-of-2", "h") and not shards.is_done("0-of-2", "other")
    assert not shards.is_done("1-of-2", "h")
    assert RunDir(tmp_path).holds_results()
    with pytest.raises(SosbenchError, match=r"marks benchmark 'bbq', not 'xstest'"):
        read_done(shards.done("0-of-2"), "xstest")


def test_markers_refuse_misspelt_keys_on_write_and_read(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="config_hsh"):
        DoneMarker(benchmark="bbq", config_hsh="h")  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="timing"):
        Manifest(timing={})  # type: ignore[call-arg]
    (tmp_path / "manifest.json").write_text(json.dumps({**MANIFEST, "model_nme": "m"}))
    with pytest.raises(SosbenchError, match=r"manifest\.json: model_nme: Extra inputs are not permitted"):
        read_manifest(tmp_path / "manifest.json")


def test_a_damaged_marker_is_not_done(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    (tmp_path / "bbq").mkdir()
    run.done("bbq").write_text("{not json")
    assert not run.is_done("bbq", "h")


def _names_a_run_file(node: ast.AST) -> bool:
    names = {
        rundir.MANIFEST,
        rundir.RESULTS,
        rundir.DONE,
        rundir.LIVEBENCH_SCORES,
        rundir.SHARDS,
        rundir.SUBMITIT,
    }
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value in names or node.value.startswith("samples_")
    return False


def test_no_other_module_names_a_run_folder_file() -> None:
    """docs/results-layout.md: the contract is the one place that spells a run folder's file names."""
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        if path == Path(rundir.__file__):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr):
                parts = [v for v in node.values if isinstance(v, ast.Constant)]
                if any(isinstance(p.value, str) and p.value.startswith("samples_") for p in parts):
                    offenders.append(f"{path.relative_to(SRC)}:{node.lineno}")
            elif _names_a_run_file(node):
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno}")  # type: ignore[attr-defined]
    assert offenders == []
