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
from _cli import sosbench

from sosbench.run import load_manifest, missing_from_mirror, verify
from sosbench.suite import select

BENCHES = "xstest,bbq"


@pytest.fixture(scope="module")
def copied(sample_mirror: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("copy") / "mirror"
    result = sosbench(
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
    result = sosbench("data", "verify", "--data-dir", str(copied))
    assert result.returncode == 0, result.stderr
    assert "2 dataset(s), all files match their checksums" in result.stdout


def test_second_pull_copies_nothing(copied: Path, sample_mirror: Path) -> None:
    before = load_manifest(copied)
    result = sosbench(
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

    result = sosbench("data", "verify", "--data-dir", str(damaged))
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
    result = sosbench("data", "verify", "--data-dir", str(damaged), timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith(f"error: {manifest} is a FIFO (named pipe)")


def test_verify_of_a_folder_that_is_no_mirror(tmp_path: Path) -> None:
    result = sosbench("data", "verify", "--data-dir", str(tmp_path))
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"error: {tmp_path} is not a sosbench mirror (no sosbench-mirror.json): "
        f"run `sosbench data pull --data-dir {tmp_path}`"
    )


def test_pull_from_a_source_lacking_the_dataset_names_it(copied: Path, tmp_path: Path) -> None:
    result = sosbench(
        "data", "pull", "--data-dir", str(tmp_path / "m"), "--benchmarks", "wmdp", "--from", str(copied)
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "the source mirror has no cais/wmdp (needed by wmdp)" in lines[0]


def test_hub_pull_while_offline_fails_fast_in_one_line(tmp_path: Path) -> None:
    start = time.monotonic()
    result = sosbench("data", "pull", "--data-dir", str(tmp_path / "m"), "--benchmarks", "xstest")
    assert time.monotonic() - start < 60  # generous: interpreter and `datasets` start-up on a busy CI box
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("error: cannot download walledai/XSTest (default/test) for xstest:")
    assert "Traceback" not in result.stderr
