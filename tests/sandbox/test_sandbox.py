"""The sandbox package on its own: bounded result lines, one budget per sandbox, no host paths inside,
stale staging folders cleaned. The LiveBench coding scorer's use of it is in test_livebench_coding.py;
the attack cases in _sandbox_attacks.py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from _paths import TESTS

from sosbench.errors import SosbenchError
from sosbench.sandbox import (
    Frame,
    ResultLine,
    SandboxLimits,
    SandboxMode,
    SandboxUnavailable,
    _bwrap,
    _cgroup,
    _owner,
    check_available,
    run_harness,
)
from sosbench.sandbox._channel import MAX_JSON_DEPTH, json_depth_ok

MIB = 1024**2
needs_bwrap = pytest.mark.skipif(
    shutil.which("bwrap") is None, reason="bubblewrap is not installed (.ci/run installs it)"
)


def _run_script(tmp_path: Path, body: str, **options: Any) -> list[Frame]:
    """Run ``body`` (after the ready line) in a sandbox; every frame it yields."""
    script = tmp_path / "script.py"
    script.write_text("import os, sys\nsys.stdout.write('{\"ready\": true}\\n')\nsys.stdout.flush()\n" + body)
    deadline = options.pop("deadline_s", 20)
    return list(run_harness(script, {}, deadline_s=deadline, **options))


# ---------------------------------------------------------------------------------------------- lines


def test_result_line_depth_is_found_outside_strings_only() -> None:
    assert json_depth_ok(b'{"ok": true, "value": [[[1]]], "s": "[[[[[[["}')
    assert not json_depth_ok(b"[" * 200_000)
    assert json_depth_ok(b'"' + b"[" * 200_000 + b'"')  # brackets inside a string do not nest
    assert json_depth_ok(b'["\\\\"' + b", []" * 1000 + b"]")  # an escaped backslash ends no string early
    assert not json_depth_ok(b'["\\\\", ' + b"[" * (MAX_JSON_DEPTH + 1) + b"]")
    assert json_depth_ok(b'["\\"' + b"[" * 1000 + b'"]')  # an escaped quote does not end the string
    assert json_depth_ok(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH)


@pytest.mark.timeout(60)
def test_result_line_check_is_linear_on_an_unclosed_string_of_escaped_quotes() -> None:
    """The old regex took 17 s on 32 KB of this and never finished 1 MB; a linear pass takes well under a
    second on 8 MB (a hang here fails through the timeout, not a clock in the test)."""
    line = b"[" * (MAX_JSON_DEPTH + 10) + b'"' + b'\\"' * (4 * MIB)
    assert not json_depth_ok(line)  # too deep before the string even starts
    assert json_depth_ok(b'["' + b'\\"' * (4 * MIB))  # unclosed: json.loads refuses it later
    assert json_depth_ok(b'["' + b"\\\\" * (4 * MIB) + b'"' + b", []" * 2000 + b"]")


@needs_bwrap
def test_a_line_over_its_bound_or_late_ends_the_run(tmp_path: Path) -> None:
    def flood(size: int) -> str:
        return f"sys.stdout.write('{{\"a\": \"' + 'x' * {size} + '\"}}\\n'); sys.stdout.flush()\n"

    frames = _run_script(tmp_path, flood(300_000), lines=[ResultLine(max_bytes=100_000)])
    assert frames == [Frame(None, "result line over 100000 bytes")]
    frames = _run_script(tmp_path, flood(300_000) + flood(3 * MIB), lines=[ResultLine(max_bytes=400_000)])
    assert frames[0].data is not None and frames[1] == Frame(None, f"result line over {2 * MIB} bytes")
    slow = "import time\nprint('{}', flush=True)\ntime.sleep(2)\nprint('{}', flush=True)\n"
    frames = _run_script(tmp_path, slow, lines=[ResultLine(1000, within_s=5), ResultLine(1000, within_s=1)])
    assert frames == [Frame({}), Frame(None, "timeout")]
    frames = _run_script(tmp_path, slow, lines=[ResultLine(1000, within_s=5), ResultLine(1000, within_s=5)])
    assert frames == [Frame({}), Frame({}), Frame(None, "ended")]


# --------------------------------------------------------------------------------------------- budget


def test_limits_keep_address_space_times_processes_within_the_budget() -> None:
    limits = SandboxLimits(memory_bytes=1024 * MIB, processes=4)
    rlimits = limits.process_limits("rlimit", deadline_s=10)
    assert rlimits["memory_bytes"] * limits.processes <= 1024 * MIB
    assert rlimits["processes"] == 5  # bubblewrap's PID 1 counts against RLIMIT_NPROC too
    assert limits.process_limits("cgroup", deadline_s=10)["memory_bytes"] == 1024 * MIB  # the cgroup sums
    assert SandboxLimits().process_count("rlimit") == 2 and SandboxLimits().process_count("cgroup") == 64
    assert SandboxLimits.from_options("1.5G", 3) == SandboxLimits(memory_bytes=1536 * MIB, processes=3)
    assert SandboxLimits.from_options("512MiB").memory_bytes == 512 * MIB
    assert SandboxLimits.from_options(str(300 * MIB)).memory_bytes == 300 * MIB
    for memory, processes, message in (
        ("lots", None, "not a size"),
        ("64M", None, "too small"),
        (None, 0, "at least 1"),
    ):
        with pytest.raises(SosbenchError, match=message):
            SandboxLimits.from_options(memory, processes)


ALLOCATE = """
import os, sys, time
held = 0
children = []
for _ in range(8):
    read, write = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        got, chunks = 0, []
        try:
            while True:
                chunks.append(bytearray(32 * 2**20))  # bytearray touches its pages
                got += 32 * 2**20
        except MemoryError:
            pass
        os.write(write, str(got).encode())
        time.sleep(30)
        os._exit(0)
    children.append(pid)
    held += int(os.read(read, 64) or b"0")
sys.stdout.write('{"held": %d, "processes": %d}\\n' % (held, len(children) + 1))
"""


@needs_bwrap
def test_the_memory_budget_bounds_all_processes_of_a_sandbox_together(tmp_path: Path) -> None:
    """Forked children each take all the memory they can and keep it: together they stay within the
    sandbox's budget (a cgroup's memory.max, or address space x processes), where per-process limits
    alone let 3 processes hold 3.66 GiB. Under a cgroup the whole sandbox may be killed instead."""
    budget = 512 * MIB
    frames = _run_script(tmp_path, ALLOCATE, limits=SandboxLimits(memory_bytes=budget, processes=4))
    if frames[0].data is None:
        assert check_available() == "cgroup" and frames[0].problem == "ended", frames  # OOM: all killed
        return
    assert frames[0].data["processes"] <= 4
    assert 0 < frames[0].data["held"] <= budget, frames[0].data


@needs_bwrap
def test_the_process_budget_counts_threads_and_processes(tmp_path: Path) -> None:
    count = """
import os, threading, time, sys
made = 0
for _ in range(20):
    try:
        threading.Thread(target=time.sleep, args=(5,), daemon=True).start()
        made += 1
    except RuntimeError:
        break
sys.stdout.write('{"threads": %d}\\n' % made)
"""
    frames = _run_script(tmp_path, count, limits=SandboxLimits(processes=3))
    assert frames[0].data == {"threads": 2}  # the script's own thread is one of the 3


# -------------------------------------------------------------------------------------- what it shows


@needs_bwrap
def test_no_host_only_path_shows_in_the_sandbox_proc(tmp_path: Path) -> None:
    """bwrap's own command line (PID 1) held every bind's source: the staging folder, the script's host
    path. Now its options come from a memory file; only paths that exist inside too are left."""
    show = (
        "import json\n"
        "lines = {p: open(f'/proc/{p}/cmdline', 'rb').read().decode(errors='replace') "
        "for p in os.listdir('/proc') if p.isdigit()}\n"
        "sys.stdout.write(json.dumps(lines) + '\\n')\n"
    )
    (frame, _end) = _run_script(tmp_path, show)
    assert frame.data is not None and set(frame.data) == {"1", "2"}
    shown = " ".join(frame.data.values())
    hidden = [
        str(tmp_path),
        str(Path(_bwrap.__file__).parent),
        _bwrap.STAGE_PREFIX,
        str(TESTS),
    ]
    assert not [path for path in hidden if path in shown], shown
    assert frame.data["1"].startswith(f"{shutil.which('bwrap')}\0--args\0")


# ------------------------------------------------------------------------------------- stale folders


def _dead_tag() -> str:
    """The owner tag of a process that has exited."""
    done = subprocess.run(
        [sys.executable, "-c", "from sosbench.sandbox._owner import owner_tag; print(owner_tag())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def test_stale_staging_folders_of_dead_scorers_are_removed_and_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    monkeypatch.setenv("SOSBENCH_SANDBOX_STAGE", "")
    prefix = _bwrap.STAGE_PREFIX
    dead, alive = _dead_tag(), _owner.owner_tag()
    stale = tmp_path / f"{prefix}{dead}-abc"
    for name in ("0", "1"):
        (stale / name).mkdir(parents=True)
    (stale / "2").touch()
    kept = {
        "live owner": tmp_path / f"{prefix}{alive}-def",
        "not a stage": tmp_path / f"{prefix}{dead}-ghi",
        "old name": tmp_path / f"{prefix}xyz",
    }
    for folder in kept.values():
        (folder / "0").mkdir(parents=True)
    (kept["not a stage"] / "notes.txt").write_text("someone's file")
    (tmp_path / f"{prefix}{dead}-link").symlink_to(kept["old name"])
    _bwrap.staging_dir.cache_clear()
    try:
        made = _bwrap.staging_dir()
        assert not stale.exists()
        assert all(folder.exists() for folder in kept.values()) and (kept["old name"] / "0").exists()
        assert made.parent == tmp_path and made.name.startswith(f"{prefix}{alive}-")
    finally:
        _bwrap.staging_dir.cache_clear()
        _bwrap.remove_stage(made)


# ------------------------------------------------------------------------------------------- cgroups


def _fake_cgroup_tree(root: Path) -> Path:
    """A cgroup v2 tree as plain files: the root hands memory, pids and cpu on; the scorer sits in a.scope."""
    (root / "cgroup.subtree_control").write_text("memory pids cpu")
    own = root / "user.slice" / "a.scope"
    own.mkdir(parents=True)
    (root / "user.slice" / "cgroup.subtree_control").write_text("memory pids cpu")
    return own


def test_a_sandbox_cgroup_sits_beside_the_scorer_with_its_limits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The kernel is not here to enforce it (tests/_sandbox_attacks.py does where the host has cgroup v2);
    this checks where the cgroups go, what is written, and that they are removed."""
    own = _fake_cgroup_tree(tmp_path)
    dead = tmp_path / "user.slice" / f"{_cgroup.PREFIX}{_dead_tag()}"
    (dead / "leftover").mkdir(parents=True)
    monkeypatch.setattr(_cgroup, "_mount_point", lambda: tmp_path)
    monkeypatch.setattr(_cgroup, "_own_cgroup", lambda mount: own)
    monkeypatch.setenv("SOSBENCH_SANDBOX_CGROUP", "")
    monkeypatch.setattr(Path, "mkdir", _mkdir_with_control_files(Path.mkdir))
    _cgroup.base.cache_clear()
    try:
        base = _cgroup.base()
        assert base is not None and base.parent == own.parent and not dead.exists()
        assert (base / "cgroup.subtree_control").read_text() == "+memory +pids +cpu"
        with _cgroup.leaf(SandboxLimits(memory_bytes=768 * MIB, processes=5, cpus=0.5)) as leaf:
            assert leaf.parent == base
            assert (leaf / "memory.max").read_text() == str(768 * MIB)
            assert (leaf / "memory.swap.max").read_text() == "0"
            assert (leaf / "memory.oom.group").read_text() == "1"
            assert (leaf / "pids.max").read_text() == "7"  # + bubblewrap's monitor and PID 1
            assert (leaf / "cpu.max").read_text() == "50000 100000"
        assert (leaf / "cgroup.kill").read_text() == "1"  # everything in it was killed
    finally:
        _cgroup.base.cache_clear()


def _mkdir_with_control_files(mkdir: Any) -> Any:
    """Path.mkdir that, inside a fake cgroup tree, adds the files the kernel would (empty controls)."""

    def make(self: Path, *args: Any, **kwargs: Any) -> None:
        mkdir(self, *args, **kwargs)
        if (self.parent / "cgroup.subtree_control").exists():
            for name in ("cgroup.subtree_control", "cgroup.procs", "cgroup.kill", "memory.swap.max"):
                (self / name).write_text("")
            (self / "memory.oom.group").write_text("0")

    return make


@needs_bwrap
def test_a_sandbox_moves_itself_into_its_cgroup_before_anything_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command line of the cgroup budget, run for real on a fake tree (the kernel's part, enforcing
    memory.max, is not here): the sandbox's first process writes its pid into its own cgroup.procs,
    and each process may then use the whole budget, the cgroup bounding their sum."""
    (tmp_path / "cgroup").mkdir()
    own = _fake_cgroup_tree(tmp_path / "cgroup")
    monkeypatch.setattr(_cgroup, "_mount_point", lambda: tmp_path / "cgroup")
    monkeypatch.setattr(_cgroup, "_own_cgroup", lambda mount: own)
    monkeypatch.setenv("SOSBENCH_SANDBOX_CGROUP", "")
    monkeypatch.setattr(Path, "mkdir", _mkdir_with_control_files(Path.mkdir))
    _cgroup.base.cache_clear()
    check_available.cache_clear()
    try:
        assert check_available() == "cgroup"
        show = (
            "limits = open('/proc/self/limits').read()\n"
            "sys.stdout.write('{\"ok\": %s}\\n' % str('1073741824' in limits).lower())\n"
        )
        (frame, _end) = _run_script(tmp_path, show, limits=SandboxLimits(memory_bytes=1024**3, processes=8))
        assert frame.data == {"ok": True}  # RLIMIT_AS is the whole budget, not 1/8 of it
        leaves = [leaf for leaf in (_cgroup.base() or tmp_path).iterdir() if leaf.is_dir()]
        moved = [(leaf / "cgroup.procs").read_text().strip() for leaf in leaves]
        assert moved and all(pid.isdigit() for pid in moved)  # the probe's sandbox and this one
        assert {(leaf / "memory.max").read_text() for leaf in leaves} >= {str(1024**3)}
    finally:
        _cgroup.base.cache_clear()
        check_available.cache_clear()


def test_removing_a_cgroup_never_deletes_files(tmp_path: Path) -> None:
    """``_cgroup.remove`` only rmdirs: the kernel drops a cgroup's control files with it, while a folder
    with real files in it is not a cgroup and stays as it is."""
    folder = tmp_path / "leaf"
    folder.mkdir()
    (folder / "cgroup.procs").write_text("")
    _cgroup.remove(folder)
    assert (folder / "cgroup.procs").exists()


@needs_bwrap
def test_without_a_cgroup_tree_sandboxes_fall_back_to_rlimits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_cgroup, "_mount_point", lambda: None)
    monkeypatch.setenv("SOSBENCH_SANDBOX_CGROUP", "")
    _cgroup.base.cache_clear()
    check_available.cache_clear()
    try:
        assert check_available(SandboxMode.BWRAP) == "rlimit"
        assert check_available(SandboxMode.NONE) == "rlimit"
    finally:
        _cgroup.base.cache_clear()
        check_available.cache_clear()


def test_an_unknown_mode_is_one_error_line() -> None:
    with pytest.raises(SosbenchError, match="unknown --sandbox 'docker': use bwrap or none"):
        SandboxMode.of("docker")
    assert issubclass(SandboxUnavailable, SosbenchError)
    assert json.dumps({"mode": SandboxMode.NONE}) == '{"mode": "none"}' and f"{SandboxMode.BWRAP}" == "bwrap"


def test_the_sandbox_package_imports_nothing_of_livebench() -> None:
    code = "import sys, sosbench.sandbox; print(sorted(m for m in sys.modules if 'livebench' in m))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
    assert os.path.basename(_bwrap.ENTRY) == "_entry.py"
