"""sosbench._io: atomic writes with umask modes, one-line read errors, safe names, folder locks."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from _bounded import ALIAS_BOMB

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

    monkeypatch.setattr(os, "fsync", disk_full)
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


# ------------------------------------------------------------------------------ bounded reads (issue 21)


def _fifo(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    os.mkfifo(path)
    return path


def _returns_within(seconds: float, call, unblock: Path | None = None):
    """``call()``'s outcome, failing the test if it blocks (a FIFO opened for reading waits for a writer)."""
    outcome: dict = {}

    def target() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive() and unblock is not None:  # let the stuck reader go before failing
        os.close(os.open(unblock, os.O_WRONLY | os.O_NONBLOCK))
    assert not thread.is_alive(), "the call blocked"
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


@pytest.mark.parametrize(
    "read",
    [
        _io.read_text,
        _io.read_json,
        _io.read_yaml,
        _io.read_jsonl,
        lambda path: list(_io.iter_lines(path)),
        _io.cut_torn_tail,
        lambda path: _io.append_jsonl(path, [{"a": 1}]),
    ],
)
def test_a_fifo_or_a_device_is_refused_without_being_opened(tmp_path: Path, read) -> None:
    fifo = _fifo(tmp_path, "results.json")
    with pytest.raises(
        SosbenchError, match=r"results\.json is a FIFO \(named pipe\), not a .*: pass a regular"
    ):
        _returns_within(5, lambda: read(fifo), unblock=fifo)
    zero = tmp_path / "zero.json"
    zero.symlink_to("/dev/zero")
    with pytest.raises(SosbenchError, match=r"zero\.json is a character device, not a "):
        _returns_within(5, lambda: read(zero))


def test_a_file_larger_than_its_limit_is_refused_before_it_is_read(tmp_path: Path, monkeypatch) -> None:
    sparse = tmp_path / "results.json"
    with sparse.open("wb") as handle:
        handle.truncate(6 << 30)  # 6 GiB of holes: nothing on disk
    with pytest.raises(SosbenchError, match=r"results\.json is 6\.0 GiB, more than the 1\.0 GiB a JSON file"):
        _io.read_json(sparse)
    with pytest.raises(SosbenchError, match=r"more than the 8\.0 MiB a YAML file may be"):
        _io.read_yaml(sparse)
    monkeypatch.setattr(_io._read, "MAX_LINE_BYTES", 1 << 20)  # streamed: the first line stops at its cap
    with pytest.raises(SosbenchError, match=r"results\.json:1: a line longer than 1\.0 MiB"):
        _io.read_jsonl(sparse)
    lines = tmp_path / "rows.jsonl"
    lines.write_text('{"a": 1}\n' * 3)
    assert _io.read_jsonl(lines) == [{"a": 1}] * 3  # short lines stream as before


@pytest.mark.parametrize(
    ("depth", "ok"),
    [
        (200_000, False),  # past the interpreter's recursion limit
        (150, False),  # parses, but deeper than any sosbench file
        (_io.MAX_DEPTH, True),
    ],
)
def test_json_nests_at_most_max_depth(tmp_path: Path, depth: int, ok: bool) -> None:
    document, row = tmp_path / "a.json", tmp_path / "a.jsonl"
    document.write_text("[" * depth + "]" * depth)
    row.write_text('{"rows": ' + "[" * (depth - 1) + "]" * (depth - 1) + "}\n")  # one row, as deep
    for path, read in ((document, _io.read_json), (row, _io.read_jsonl)):
        if ok:
            read(path)
        else:
            with pytest.raises(SosbenchError, match=rf"{path.name}(:1)?: nested deeper than 100 levels"):
                read(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[" * 100_000 + "]" * 100_000, "nested deeper than 100 levels"),
        ("- " * 100_000 + "x\n", "nested deeper than 100 levels"),  # block sequences, one per indent
        ("a:\n" + "".join("  " * i + "b:\n" for i in range(1, 150)) + "  " * 150 + "c: 1\n", "nested deeper"),
        (ALIAS_BOMB, r"aliases expand it to 490,329,064 nodes from 28 .*: is it an alias bomb"),
        ("a: &a [1, *a]\n", "an alias refers to a node that contains it"),
    ],
)
def test_yaml_is_parsed_within_depth_and_alias_limits(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "models.yaml"
    path.write_text(text)
    started = time.monotonic()
    with pytest.raises(SosbenchError, match=message):
        _io.read_yaml(path)
    assert time.monotonic() - started < 5
    assert len(ALIAS_BOMB) < 600


def test_yaml_anchors_for_reuse_still_work(tmp_path: Path) -> None:
    path = tmp_path / "models.yaml"
    path.write_text(
        "base: &base {dtype: float32, device: cpu}\nmodels:\n  - {<<: *base, name: a}\n  - *base\n"
    )
    assert _io.read_yaml(path)["models"] == [
        {"dtype": "float32", "device": "cpu", "name": "a"},
        {"dtype": "float32", "device": "cpu"},
    ]


def test_lone_surrogates_round_trip_through_every_json_writer(tmp_path: Path) -> None:
    text = "\ud800 lone, \udfff low, \U0001f600 paired, [[A>B]]"
    _io.write_json_atomic(tmp_path / "a.json", {"text": text})
    _io.write_jsonl_atomic(tmp_path / "b.jsonl", [{"text": text}])
    _io.append_jsonl(tmp_path / "c.jsonl", [{"text": text}])
    for name in ("a.json", "b.jsonl", "c.jsonl"):
        raw = (tmp_path / name).read_bytes()
        assert b"\\ud800" in raw and b"\\udfff" in raw and "\U0001f600".encode() in raw  # readable elsewhere
        raw.decode("utf-8")  # valid UTF-8
    assert _io.read_json(tmp_path / "a.json") == {"text": text}
    assert _io.read_jsonl(tmp_path / "b.jsonl") == _io.read_jsonl(tmp_path / "c.jsonl") == [{"text": text}]


def test_names_too_long_for_the_file_system_are_one_line(tmp_path: Path) -> None:
    long = tmp_path / ("n" * 300 + ".json")
    with pytest.raises(SosbenchError, match="the name is too long for the file system"):
        _io.read_json(long)
    with pytest.raises(SosbenchError, match=r"cannot write .*: the name is too long for the file system"):
        _io.write_json_atomic(long, {})
    near = tmp_path / ("n" * 240 + ".jsonl")  # fits, and so must its temporary beside it
    _io.write_jsonl_atomic(near, [{"a": 1}])
    assert _io.read_jsonl(near) == [{"a": 1}]


def test_a_torn_tail_is_cut_from_the_end_without_reading_the_file_whole(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    body = b'{"call": 1}\n' * 20_000  # longer than one block of the backwards search
    path.write_bytes(body + b'{"call": 2, "te')
    _io.cut_torn_tail(path)
    assert path.read_bytes() == body
    path.write_bytes(b'{"torn')
    _io.cut_torn_tail(path)
    assert path.read_bytes() == b""
    _io.cut_torn_tail(tmp_path / "absent.jsonl")


def test_a_file_lock_holds_one_file_of_a_folder(tmp_path: Path) -> None:
    with _io.folder_lock(tmp_path, "the answers", file="m.jsonl"):
        with _io.folder_lock(tmp_path, "the answers", file="n.jsonl"):
            pass  # another model's answers go on
        refused = r"another sosbench process is writing x .*m\.jsonl"
        with pytest.raises(SosbenchError, match=refused), _io.folder_lock(tmp_path, "x", file="m.jsonl"):
            pass
