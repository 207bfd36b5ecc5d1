"""sosbench._io: atomic writes with umask modes, one-line read errors, safe names, folder locks."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sosbench import _io
from sosbench.errors import SosbenchError


@pytest.fixture
def umask():
    """Set a umask for one test and restore the previous one."""
    previous = os.umask(0o022)
    os.umask(previous)

    def set_mask(mask: int) -> None:
        os.umask(mask)

    yield set_mask
    os.umask(previous)


@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_atomic_writes_respect_the_umask(tmp_path: Path, umask, mask: int, mode: int) -> None:
    umask(mask)
    _io.write_json_atomic(tmp_path / "manifest.json", {"a": 1})
    _io.write_jsonl_atomic(tmp_path / "rows.jsonl", [{"a": 1}])
    assert (tmp_path / "manifest.json").stat().st_mode & 0o777 == mode
    assert (tmp_path / "rows.jsonl").stat().st_mode & 0o777 == mode
    assert _io.read_jsonl(tmp_path / "rows.jsonl") == [{"a": 1}]


def test_a_full_disk_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "results.json"
    _io.write_json_atomic(target, {"old": True})

    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(_io.os, "fsync", disk_full)
    with pytest.raises(SosbenchError, match=r"cannot write .*No space left on device") as raised:
        _io.write_json_atomic(target, {"new": True})
    assert "\n" not in str(raised.value)
    monkeypatch.undo()
    assert _io.read_json(target) == {"old": True}
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


def test_writing_into_a_file_path_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "output"
    blocker.write_text("x")
    with pytest.raises(SosbenchError, match=r"cannot write .*output/a\.json"):
        _io.write_json_atomic(blocker / "a.json", {})


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe\x00binary", "is not UTF-8 text"),
        (b'{"a": 1}\n{"a": ', ":2: not valid JSON"),
        (b'{"a": 1}\n[1, 2]\n', ":2: expected a JSON object per line, found list"),
    ],
)
def test_bad_jsonl_is_one_line_naming_the_file(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "answers.jsonl"
    path.write_bytes(content)
    with pytest.raises(SosbenchError, match=message) as raised:
        _io.read_jsonl(path)
    assert "\n" not in str(raised.value) and str(path) in str(raised.value)


def test_a_torn_last_line_is_skipped_only_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    path.write_bytes(b'{"call": 1}\n{"call": 2')
    assert _io.read_jsonl(path, torn_tail_ok=True) == [{"call": 1}]
    with pytest.raises(SosbenchError):
        _io.read_jsonl(path)


def test_missing_and_folder_paths_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(SosbenchError, match="does not exist"):
        _io.read_json(tmp_path / "nope.json")
    with pytest.raises(SosbenchError, match="is a folder"):
        _io.read_json(tmp_path)


def test_safe_file_names_never_collide_or_escape() -> None:
    assert _io.safe_file_name("Llama-3-8B-Instruct") == "Llama-3-8B-Instruct"
    names = ["org1/m", "org2/m", "org1_m", "../../x", "/abs/x", ".hidden"]
    mapped = [_io.safe_file_name(name) for name in names]
    assert len(set(mapped)) == len(names)
    for name in mapped:
        assert "/" not in name and not name.startswith(".") and Path(name).name == name


def test_inside_refuses_escapes(tmp_path: Path) -> None:
    assert _io.inside(tmp_path, "a/b", "model") == tmp_path / "a" / "b"
    for bad in ("../x", "/etc", "a/../../x"):
        with pytest.raises(SosbenchError, match="outside"):
            _io.inside(tmp_path, bad, "model")


def test_a_second_process_is_refused_while_the_lock_is_held(tmp_path: Path) -> None:
    script = (
        "import sys, pathlib\n"
        "from sosbench import _io\n"
        "from sosbench.errors import SosbenchError\n"
        "try:\n"
        "    with _io.folder_lock(pathlib.Path(sys.argv[1]), 'run folder'):\n"
        "        print('acquired')\n"
        "except SosbenchError as exc:\n"
        "    print('refused:', exc)\n"
    )
    with _io.folder_lock(tmp_path, "run folder"):
        held = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True)
    free = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True)
    assert held.stdout.startswith("refused: another sosbench process is writing run folder")
    assert free.stdout.strip() == "acquired"


def test_a_killed_holder_releases_the_lock(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, pathlib\nfrom sosbench import _io\n"
            "with _io.folder_lock(pathlib.Path(sys.argv[1]), 'run folder'):\n"
            "    print('held', flush=True)\n    sys.stdin.read()\n",
            str(tmp_path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    with pytest.raises(SosbenchError), _io.folder_lock(tmp_path, "run folder"):
        pass
    holder.kill()
    holder.wait()
    with _io.folder_lock(tmp_path, "run folder"):
        pass
