"""The offline mirror: `sosbench data pull --from`, `sosbench data verify`, and reading a mirror back.

The source is the sample mirror fixture (real items of ../shared/data/samples in the layout
`sosbench data pull` writes), so these tests check the layout, checksums and failure messages the
way an air-gapped cluster meets them: copy a mirror, verify it, notice damage.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml
from _cli import sosbench, sosbench_in_process

from sosbench.run import load_manifest, missing_from_mirror, verify
from sosbench.suite import select

BENCHES = "xstest,bbq"


@pytest.fixture(scope="module")
def copied(sample_mirror: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("copy") / "mirror"
    result = sosbench_in_process(
        "data", "pull", "--data-dir", str(target), "--benchmarks", BENCHES, "--from", str(sample_mirror)
    )
    assert result.returncode == 0, result.stderr
    assert "2 dataset(s) copied" in result.stderr
    assert str(target) in result.stderr
    return target


def test_pull_from_another_mirror_writes_the_documented_layout(copied: Path) -> None:
    manifest = json.loads((copied / "sosbench-mirror.json").read_text())
    assert set(manifest["datasets"]) == {"walledai/XSTest", "walledai/BBQ"}
    bbq = manifest["datasets"]["walledai/BBQ"]
    assert bbq["source"] != "hub"
    assert len(bbq["configs"]["default"]) == 11
    # A hub-repo-like folder: README.md whose YAML header maps configs and splits to parquet files.
    readme = (copied / "walledai" / "BBQ" / "README.md").read_text()
    header = yaml.safe_load(readme.split("---")[1])
    files = {f["split"]: f["path"] for c in header["configs"] for f in c["data_files"]}
    assert files["age"] == "default/age.parquet"
    for rel in files.values():
        assert (copied / "walledai" / "BBQ" / rel).is_file()
    assert set(bbq["files"]) >= set(files.values())
    assert missing_from_mirror(copied, select(BENCHES.split(","), None)) == []


def test_copied_mirror_reads_back_the_same_rows(copied: Path, sample_mirror: Path) -> None:
    import datasets

    original = datasets.load_dataset(str(sample_mirror / "walledai" / "XSTest"), split="test")
    copy = datasets.load_dataset(str(copied / "walledai" / "XSTest"), split="test")
    assert copy.to_list() == original.to_list()
    assert len(copy) > 0


def test_verify_passes_on_an_intact_mirror(copied: Path) -> None:
    result = sosbench_in_process("data", "verify", "--data-dir", str(copied))
    assert result.returncode == 0, result.stderr
    assert "2 dataset(s), all files match their checksums" in result.stdout


def test_second_pull_copies_nothing(copied: Path, sample_mirror: Path) -> None:
    before = load_manifest(copied)
    result = sosbench_in_process(
        "data", "pull", "--data-dir", str(copied), "--benchmarks", BENCHES, "--from", str(sample_mirror)
    )
    assert result.returncode == 0, result.stderr
    assert "0 dataset(s) copied" in result.stderr
    assert load_manifest(copied) == before


def test_verify_reports_changed_and_missing_files(copied: Path, tmp_path: Path) -> None:
    import shutil

    damaged = tmp_path / "damaged"
    shutil.copytree(copied, damaged)
    age = damaged / "walledai" / "BBQ" / "default" / "age.parquet"
    data = bytearray(age.read_bytes())
    data[len(data) // 2] ^= 0xFF
    age.write_bytes(bytes(data))
    (damaged / "walledai" / "XSTest" / "default" / "test.parquet").unlink()

    problems = verify(damaged)
    assert "walledai/BBQ: default/age.parquet does not match its checksum" in problems
    assert "walledai/XSTest: default/test.parquet is missing" in problems

    result = sosbench_in_process("data", "verify", "--data-dir", str(damaged))
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and "(2 problem(s)); pull again to repair" in last
    assert "Traceback" not in result.stderr


def test_verify_refuses_a_fifo_or_a_device_in_a_files_place_without_blocking(
    copied: Path, tmp_path: Path
) -> None:
    import os
    import shutil

    damaged = tmp_path / "damaged"
    shutil.copytree(copied, damaged)
    age = damaged / "walledai" / "BBQ" / "default" / "age.parquet"
    age.unlink()
    os.mkfifo(age)  # opened for reading, it would wait for a writer forever
    test = damaged / "walledai" / "XSTest" / "default" / "test.parquet"
    test.unlink()
    test.symlink_to("/dev/zero")  # read, it would never end
    assert sorted(verify(damaged)) == [
        "walledai/BBQ: default/age.parquet is not a regular file",
        "walledai/XSTest: default/test.parquet is not a regular file",
    ]
    manifest = damaged / "sosbench-mirror.json"
    manifest.unlink()
    os.mkfifo(manifest)
    # a child process, so that a verify that blocks fails here instead of hanging the tests
    result = sosbench("data", "verify", "--data-dir", str(damaged), timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith(f"error: {manifest} is a FIFO (named pipe)")


def test_verify_of_a_folder_that_is_no_mirror(tmp_path: Path) -> None:
    result = sosbench_in_process("data", "verify", "--data-dir", str(tmp_path))
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"error: {tmp_path} is not a sosbench mirror (no sosbench-mirror.json): "
        f"run `sosbench data pull --data-dir {tmp_path}`"
    )


def test_pull_from_a_source_lacking_the_dataset_names_it(copied: Path, tmp_path: Path) -> None:
    result = sosbench_in_process(
        "data", "pull", "--data-dir", str(tmp_path / "m"), "--benchmarks", "wmdp", "--from", str(copied)
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "the source mirror has no cais/wmdp (needed by wmdp)" in lines[0]


def test_hub_pull_while_offline_fails_fast_in_one_line(tmp_path: Path) -> None:
    start = time.monotonic()
    result = sosbench_in_process("data", "pull", "--data-dir", str(tmp_path / "m"), "--benchmarks", "xstest")
    assert time.monotonic() - start < 60  # generous: `datasets` start-up on a busy CI box
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("error: cannot download walledai/XSTest (default/test) for xstest:")
    assert "Traceback" not in result.stderr


# ------------------------------------------------------------------ sosbench data add (local files)


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_data_add_builds_and_extends_a_mirror_that_verifies_and_loads(
    shared_data: Path, tmp_path: Path
) -> None:
    """Real BBQ items as a user holds them (one JSONL per split): the split is named by the file, a second
    add extends the dataset, and the result is the hub layout with checksums, read back row for row."""
    import datasets
    from typer.testing import CliRunner

    from sosbench.cli import app

    mirror = tmp_path / "mirror"
    bbq = shared_data / "samples" / "bbq"
    first = CliRunner().invoke(
        app, ["data", "add", "--data-dir", str(mirror), "--dataset", "walledai/BBQ", str(bbq / "age.jsonl")]
    )
    assert first.exit_code == 0, first.output
    assert "added walledai/BBQ default/age: 8 rows" in first.stderr
    assert "bbq: still needs default/disabilityStatus" in first.stderr  # what the benchmark still lacks
    parquet = tmp_path / "religion.parquet"
    datasets.Dataset.from_list(
        [json.loads(line) for line in (bbq / "religion.jsonl").read_text().splitlines()]
    ).to_parquet(str(parquet))
    second = CliRunner().invoke(
        app, ["data", "add", str(parquet), "--data-dir", str(mirror), "--dataset", "walledai/BBQ"]
    )
    assert second.exit_code == 0, second.output
    entry = load_manifest(mirror)["datasets"]["walledai/BBQ"]
    assert entry["configs"] == {"default": ["age", "religion"]}  # extended, not replaced
    assert set(entry["files"]) == {"default/age.parquet", "default/religion.parquet", "README.md"}
    assert verify(mirror) == []
    rows = datasets.load_dataset(str(mirror / "walledai" / "BBQ"), split="religion").to_list()
    assert rows == [json.loads(line) for line in (bbq / "religion.jsonl").read_text().splitlines()]
    (mirror / "walledai" / "BBQ" / "default" / "age.parquet").write_bytes(b"changed")
    assert verify(mirror) == ["walledai/BBQ: default/age.parquet does not match its checksum"]


def test_data_add_puts_several_files_into_one_split(shared_data: Path, tmp_path: Path) -> None:
    """LiveBench's task files of one category: optional fields null in some files and set in others still
    form one split (one schema over all rows), and the benchmark then has all its data."""
    mirror = tmp_path / "mirror"
    files = [
        str(shared_data / "livebench" / f"questions_{t}.jsonl") for t in ("web_of_lies_v2", "zebra_puzzle")
    ]
    result = sosbench(
        "data",
        "add",
        *files,
        "--data-dir",
        str(mirror),
        "--dataset",
        "livebench/reasoning",
        "--split",
        "test",
    )
    assert result.returncode == 0, result.stderr
    assert "added livebench/reasoning default/test: 100 rows" in result.stderr
    assert "livebench-reasoning: has all its data in the mirror" in result.stderr
    assert missing_from_mirror(mirror, select("livebench-reasoning", None)) == []


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["--dataset", "../../etc"],
            r"--dataset '\.\./\.\./etc' is not a hub dataset id: write it as OWNER/NAME",
        ),
        (["--dataset", "a/b", "--split", "../x"], r"split name '\.\./x' cannot be a file name in the mirror"),
        (["--dataset", "a/b", "--config", "x y"], r"config name 'x y' cannot be a file name"),
    ],
)
def test_data_add_refuses_names_that_leave_the_mirror(tmp_path: Path, args: list[str], expected: str) -> None:
    import re

    data = _jsonl(tmp_path / "test.jsonl", [{"prompt": "p"}])
    result = sosbench_in_process("data", "add", str(data), "--data-dir", str(tmp_path / "m"), *args)
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert result.returncode == 1 and re.search(expected, line), result.stderr
    assert not (tmp_path / "m").exists() or not any((tmp_path / "m").rglob("*.parquet"))


def test_data_add_bad_files_are_one_line(tmp_path: Path) -> None:
    broken = tmp_path / "test.jsonl"
    broken.write_text('{"prompt": "ok"}\n{not json\n', encoding="utf-8")
    empty = _jsonl(tmp_path / "train.jsonl", [])
    (tmp_path / "t.txt").write_text("prompt\n", encoding="utf-8")
    mirror = ["--data-dir", str(tmp_path / "m"), "--dataset", "walledai/XSTest"]
    for files, expected in (
        ([str(broken)], "test.jsonl:2: not valid JSON"),
        ([str(empty)], "train.jsonl: no rows"),
        ([str(tmp_path / "missing.jsonl")], "missing.jsonl: no such file"),
        ([str(tmp_path / "t.txt")], "unknown format '.txt'"),
    ):
        result = sosbench_in_process("data", "add", *files, *mirror)
        assert result.returncode == 1 and expected in result.stderr.strip().splitlines()[-1], result.stderr
        assert "Traceback" not in result.stderr
