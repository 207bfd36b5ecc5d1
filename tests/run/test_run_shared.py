"""`sosbench run` and `sosbench data pull` on shared folders and bad input (issue 12).

A run folder and a mirror are locked by the process writing them; their files get the modes the
user's umask allows (a team shares a mirror); model names never put folders outside --output; a model
list is validated strictly; and every mistake below ends in one `error:` line, not a traceback.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from _cli import run_args as cli_run_args
from _cli import sosbench, sosbench_in_process

from sosbench._io import folder_lock
from sosbench.errors import SosbenchError
from sosbench.run import RunConfig, model_folder


def run_args(model: Path | str, mirror: Path, out: Path, benchmarks: str = "xstest") -> list[str]:
    """Two items per task at lm-eval's own generation length (no --gen-kwargs)."""
    return cli_run_args(model, mirror, out, benchmarks.split(","), max_gen_toks=None)


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The single line a failed command printed (asserting it is one line, an error, and exit 1)."""
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1, result.stderr[-2000:]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr[-2000:]
    return lines[0]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# ---------------------------------------------------------------------------------------------- modes


@pytest.mark.slow
@pytest.mark.parametrize(("umask", "expected"), [(0o022, 0o644), (0o002, 0o664)])
def test_run_files_respect_the_umask_and_git_stays_quiet(
    tiny_model: Path, sample_mirror: Path, tmp_path: Path, umask: int, expected: int
) -> None:
    """Files were 0600 whatever the umask; lm-eval's `git describe` printed `fatal: not a git repository`."""
    out = tmp_path / "run"
    result = sosbench(*run_args(tiny_model, sample_mirror, out), umask=umask, cwd=tmp_path)  # not a git repo
    assert result.returncode == 0, result.stderr[-3000:]
    assert "not a git repository" not in result.stderr
    files = [
        out / "manifest.json",
        out / "xstest" / "done.json",
        out / "xstest" / "results.json",
        out / "xstest" / "samples_sos_xstest.jsonl",
    ]
    assert {f.name: oct(mode(f)) for f in files} == {f.name: oct(expected) for f in files}


@pytest.mark.parametrize(("umask", "expected"), [(0o022, 0o644), (0o002, 0o664)])
def test_mirror_files_respect_the_umask(
    sample_mirror: Path, tmp_path: Path, umask: int, expected: int
) -> None:
    mirror = tmp_path / "shared-mirror"
    pull = ["data", "pull", "--data-dir", str(mirror), "--benchmarks", "xstest", "--from", str(sample_mirror)]
    result = sosbench(*pull, umask=umask)
    assert result.returncode == 0, result.stderr
    files = [
        mirror / "sosbench-mirror.json",
        mirror / "walledai" / "XSTest" / "README.md",
        mirror / "walledai" / "XSTest" / "default" / "test.parquet",
    ]
    assert {f.name: oct(mode(f)) for f in files} == {f.name: oct(expected) for f in files}
    assert not list(mirror.rglob("*.tmp"))


# ---------------------------------------------------------------------------------------------- locks


@pytest.mark.slow
def test_second_run_on_a_locked_folder_is_refused_and_touches_nothing(
    tiny_model: Path, sample_mirror: Path, tmp_path: Path
) -> None:
    """Two runs on one --output deleted each other's staging folders and overwrote the finished manifest."""
    out = tmp_path / "run"
    first = sosbench(*run_args(tiny_model, sample_mirror, out))
    assert first.returncode == 0, first.stderr[-3000:]
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    staging = out / ".wmdp.partial"  # as if the holder of the lock were building wmdp right now
    staging.mkdir()
    (staging / "samples_sos_wmdp_bio.jsonl").write_text("{}\n")
    with folder_lock(out, "the run folder"):  # what another `sosbench run` on this folder holds
        second = sosbench(*run_args(tiny_model, sample_mirror, out, "xstest,wmdp"))
    assert one_error_line(second) == (
        f"error: another sosbench process is writing the run folder {out}: "
        "wait for it to finish, or use another folder"
    )
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file() and staging not in p.parents} == before
    assert (staging / "samples_sos_wmdp_bio.jsonl").exists()
    assert json.loads((out / "manifest.json").read_text())["finished"]


def test_second_pull_into_a_locked_mirror_is_refused(sample_mirror: Path, tmp_path: Path) -> None:
    mirror = tmp_path / "m"
    with folder_lock(mirror, "the mirror"):
        result = sosbench(
            "data", "pull", "--data-dir", str(mirror), "--benchmarks", "xstest", "--from", str(sample_mirror)
        )
    assert "another sosbench process is writing the mirror" in one_error_line(result)
    assert not (mirror / "sosbench-mirror.json").exists()


# ---------------------------------------------------------------------------------------------- names


@pytest.mark.parametrize("name", ["../../x", "/tmp/sosbench-escape", "a/../../b"])
def test_models_whose_name_escapes_output_are_refused(tmp_path: Path, name: str) -> None:
    specs = tmp_path / "models.yaml"
    specs.write_text(json.dumps([{"model": "hf", "model_args": {"pretrained": "x"}, "model_name": name}]))
    result = sosbench_in_process(
        "run", "--models", str(specs), "--benchmarks", "xstest", "-o", str(tmp_path / "runs")
    )
    assert one_error_line(result) == (
        f"error: --models file {specs} entry 1: model_name {name!r} would write outside --output: "
        "use a plain name such as my-model"
    )
    assert not (tmp_path / "runs").exists() and not Path("/tmp/sosbench-escape").exists()


def test_model_names_map_to_folders_inside_output_without_collisions(tmp_path: Path) -> None:
    from sosbench.cli._run import _configs_from_specs

    base = RunConfig(model="hf", model_args={}, benchmarks=("xstest",), output=tmp_path)
    specs = [{"model": "hf", "model_name": n} for n in ("llama3-sft", "org1/m", "org2/m", "Qwen2.5-7B_it")]
    folders = [c.output for c in _configs_from_specs(base, specs)]
    assert (
        folders[0] == tmp_path / "llama3-sft" and folders[3] == tmp_path / "Qwen2.5-7B_it"
    )  # readable as before
    assert len(set(folders)) == 4 and all(f.parent == tmp_path for f in folders)
    assert folders[1].name.startswith("org1_m-") and folders[2].name.startswith("org2_m-")
    with pytest.raises(SosbenchError, match="would write outside --output"):
        model_folder(tmp_path, "..")
    with pytest.raises(SosbenchError, match="two specs share the name 'a'"):
        _configs_from_specs(base, [{"model": "hf", "model_name": "a"}, {"model": "hf", "model_name": "a"}])


# ------------------------------------------------------------------------------------------ model lists


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            '[{"model": "hf", "model_args": {}, "pretrained": "x"}]',
            "entry 1: unknown key 'pretrained' (allowed: ",
        ),
        (
            "- {model: hf, model_args: null}",
            "entry 1: field 'model_args' should be a valid dictionary or a valid string",
        ),
        (
            "- {model: hf}\n- {model: hf, model_name:}",
            "entry 2: field 'model_name' is null: give a value or omit the key",
        ),
        (
            "- {model: hf, batch_size: [8]}",
            "entry 1: field 'batch_size' should be a valid integer or a valid string",
        ),
        (
            "- {model: hf, apply_chat_template: 1}",
            "entry 1: field 'apply_chat_template' should be a valid boolean",
        ),
        ("- {model: 3}", "entry 1: field 'model' should be a valid string, not 3"),
        ("- {model_args: {pretrained: x}}", "entry 1: key 'model' is missing"),
        ("- {model: hf, model_args: 'pretrained'}", "entry 1: --model-args: 'pretrained' is not key=value"),
        (
            "- {model: hf, model_name: ''}",
            "entry 1: field 'model_name': string should have at least 1 character",
        ),
        ("model: hf", "must hold a non-empty list of model specs"),
        ("- [unclosed", "is not valid YAML or JSON"),
    ],
)
def test_model_list_mistakes_are_one_line_naming_file_and_field(
    tmp_path: Path, content: str, message: str
) -> None:
    specs = tmp_path / "models.yaml"
    specs.write_text(content)
    result = sosbench_in_process(
        "run", "--models", str(specs), "--benchmarks", "xstest", "-o", str(tmp_path / "o")
    )
    line = one_error_line(result)
    assert line.startswith(f"error: --models file {specs}") and message in line
    assert not (tmp_path / "o").exists()


def test_binary_model_list_is_one_line(tmp_path: Path) -> None:
    specs = tmp_path / "models.yaml"
    specs.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe")
    result = sosbench_in_process(
        "run", "--models", str(specs), "--benchmarks", "xstest", "-o", str(tmp_path / "o")
    )
    assert (
        one_error_line(result)
        == f"error: {specs} is not UTF-8 text: pass the model list itself, not a binary file"
    )


def test_model_list_loader_returns_run_settings(tmp_path: Path) -> None:
    from sosbench.run import load_model_specs

    specs = tmp_path / "models.yaml"
    specs.write_text(
        "- {model: hf, model_args: 'pretrained=org/m,dtype=bfloat16', batch_size: 8, model_name: m}\n"
        "- {model: vllm, model_args: {pretrained: org/big, tensor_parallel_size: 2}}\n"
    )
    assert load_model_specs(specs) == [
        {
            "model": "hf",
            "model_args": {"pretrained": "org/m", "dtype": "bfloat16"},
            "batch_size": "8",
            "model_name": "m",
        },
        {"model": "vllm", "model_args": {"pretrained": "org/big", "tensor_parallel_size": 2}},
    ]


# ------------------------------------------------------------------------------------- one-line errors


@pytest.mark.slow
def test_wrong_pretrained_path_is_one_line_and_the_corrected_rerun_runs(
    tiny_model: Path, sample_mirror: Path, tmp_path: Path
) -> None:
    """An 86-line traceback; the failed attempt's manifest made the fixed rerun "another configuration"."""
    out = tmp_path / "run"
    wrong = tmp_path / "no-such-model"
    result = sosbench(*run_args(wrong, sample_mirror, out))
    assert one_error_line(result) == (
        f"error: --model-args pretrained={wrong}: no such folder (relative to {Path.cwd()}); give the "
        "model's folder or its hub id (owner/name)"
    )
    assert not (out / "manifest.json").exists()  # refused before anything was written
    fixed = sosbench(*run_args(tiny_model, sample_mirror, out))
    assert fixed.returncode == 0, fixed.stderr[-3000:]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["model_args"]["pretrained"] == str(tiny_model) and manifest["finished"]


def test_a_hub_id_missing_from_the_cache_offline_is_one_line_at_once(
    sample_mirror: Path, tmp_path: Path
) -> None:
    """Offline, a hub id transformers cannot have is said before any load (it once took 15 s of retries
    and left a manifest behind)."""
    result = sosbench_in_process(*run_args("no-such-org/no-such-model", sample_mirror, tmp_path / "run"))
    assert one_error_line(result) == (
        "error: --model-args pretrained=no-such-org/no-such-model: no such folder here, and "
        "no-such-org/no-such-model is not in the hub cache while offline mode is on: check the path, or "
        "download the model where the hub is reachable"
    )
    assert not (tmp_path / "run" / "manifest.json").exists()


@pytest.mark.parametrize("typo", ["runs/models/smollm", "smollm2 copy"])
def test_a_mistyped_relative_model_path_is_one_line(sample_mirror: Path, tmp_path: Path, typo: str) -> None:
    """Not a folder and not a possible hub id (two slashes, a space): a path with a typo."""
    result = sosbench(*run_args(typo, sample_mirror, tmp_path / "run"), cwd=tmp_path)
    assert one_error_line(result) == (
        f"error: --model-args pretrained={typo}: no such folder (relative to {tmp_path}); give the model's "
        "folder or its hub id (owner/name)"
    )
    assert not (tmp_path / "run" / "manifest.json").exists()


def test_a_gguf_file_as_pretrained_names_both_ways_to_load_it(sample_mirror: Path, tmp_path: Path) -> None:
    gguf = tmp_path / "models" / "m.Q4_1.gguf"
    gguf.parent.mkdir()
    gguf.write_bytes(b"GGUF" + bytes(16))
    result = sosbench_in_process(*run_args(gguf, sample_mirror, tmp_path / "run"))
    assert one_error_line(result) == (
        f"error: --model-args pretrained={gguf} is a GGUF file: load it with pretrained={gguf.parent},"
        f"gguf_file={gguf.name} (dequantized on every load), or convert it once: `sosbench model convert "
        f"{gguf} DIR`, then pretrained=DIR"
    )
    assert not (tmp_path / "run" / "manifest.json").exists()


def _blocked(tmp_path: Path, modules: tuple[str, ...]) -> dict[str, str]:
    """An environment where ``modules`` are not installed, as after `pip install 'sosbench[report]'`.

    A ``sitecustomize`` sets ``sys.modules[name] = None``: to ``import`` and to ``importlib.util.find_spec``
    alike, that is a module that is not there.
    """
    blocker = tmp_path / "blocked"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(f"import sys\nsys.modules.update(dict.fromkeys({modules!r}))\n")
    return {**os.environ, "PYTHONPATH": f"{blocker}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}


@pytest.mark.parametrize("with_mirror", [True, False])
def test_report_only_install_names_the_extra_the_model_needs(
    sample_mirror: Path, tmp_path: Path, with_mirror: bool
) -> None:
    """60 lines ending in `No module named 'datasets'`; with --data-dir the hint named [eval], not [hf]."""
    env = _blocked(tmp_path, ("lm_eval", "datasets", "torch", "transformers"))
    args = run_args("org/m", sample_mirror, tmp_path / "run")
    if not with_mirror:
        args = args[: args.index("--data-dir")] + args[args.index("--output") :]
    result = sosbench(*args, env=env)
    assert one_error_line(result) == (
        "error: lm_eval is not installed: run `pip install -e '.[hf]'` in the sosbench clone"
    )
    assert not (tmp_path / "run" / "manifest.json").exists()


def test_eval_only_install_names_hf_for_a_transformers_model(sample_mirror: Path, tmp_path: Path) -> None:
    env = _blocked(tmp_path, ("torch",))
    result = sosbench(*run_args("org/m", sample_mirror, tmp_path / "run"), env=env)
    assert one_error_line(result) == (
        "error: torch is not installed: run `pip install -e '.[hf]'` in the sosbench clone"
    )


def test_output_that_is_a_file_is_one_line(sample_mirror: Path, tmp_path: Path) -> None:
    target = tmp_path / "results.txt"
    target.write_text("keep me\n")
    result = sosbench_in_process(*run_args("org/m", sample_mirror, target))
    assert one_error_line(result) == f"error: --output {target} is a file, not a folder: choose a folder path"
    inside_a_file = sosbench_in_process(*run_args("org/m", sample_mirror, target / "run"))
    assert one_error_line(inside_a_file).startswith(f"error: cannot create {target / 'run'}: ")
    assert target.read_text() == "keep me\n"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_output_is_one_line(sample_mirror: Path, tmp_path: Path) -> None:
    out = tmp_path / "ro"
    out.mkdir()
    out.chmod(0o555)
    try:
        result = sosbench_in_process(*run_args("org/m", sample_mirror, out))
    finally:
        out.chmod(0o755)
    assert one_error_line(result).startswith(f"error: cannot lock {out}: Permission denied")


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap for a small tmpfs")
def test_full_disk_during_a_run_is_one_line_and_keeps_what_finished(
    tiny_model: Path, sample_mirror: Path, tmp_path: Path
) -> None:
    """A real full disk: the run folder lies on a 16 MiB tmpfs (bubblewrap) that is filled between two runs,
    leaving two pages, so the second run's manifest update fits but its next benchmark does not."""
    disk, seen = tmp_path / "disk", tmp_path / "seen"
    disk.mkdir()
    seen.mkdir()
    cli = f"{shlex.quote(sys.executable)} -m sosbench.cli"
    first = shlex.join(run_args(tiny_model, sample_mirror, disk / "run"))
    second = shlex.join(run_args(tiny_model, sample_mirror, disk / "run", "xstest,wmdp"))
    script = f"""
        {cli} {first} 2>/dev/null || exit 90
        cp -a {disk}/run {seen}/before
        dd if=/dev/zero of={disk}/fill bs=65536 2>/dev/null; truncate -s -8192 {disk}/fill
        {cli} {second} 2>{seen}/full.log; echo $? > {seen}/full.rc
        cp -a {disk}/run {seen}/full
        rm {disk}/fill
        {cli} {second} 2>{seen}/freed.log; echo $? > {seen}/freed.rc
        cp -a {disk}/run {seen}/freed
    """
    sandbox = [
        "bwrap",
        "--dev-bind",
        "/",
        "/",
        "--size",
        str(16 << 20),
        "--tmpfs",
        str(disk),
        "sh",
        "-c",
        script,
    ]
    assert subprocess.run(sandbox, check=False, timeout=900).returncode == 0
    full = subprocess.CompletedProcess(
        [], int((seen / "full.rc").read_text()), "", (seen / "full.log").read_text()
    )
    errors = [line for line in full.stderr.splitlines() if line.startswith("error: ")]
    assert full.returncode == 1 and "Traceback" not in full.stderr, full.stderr[-3000:]
    assert len(errors) == 1 and "No space left on device; free space or choose another folder" in errors[0]
    before = seen / "before"
    for name in ("done.json", "results.json", "samples_sos_xstest.jsonl"):  # nothing finished is lost
        assert (seen / "full" / "xstest" / name).read_bytes() == (before / "xstest" / name).read_bytes()
    manifest = json.loads((seen / "full" / "manifest.json").read_text())  # whole, not torn
    assert manifest["config_hash"] == json.loads((before / "manifest.json").read_text())["config_hash"]
    assert "xstest" in manifest["timings"] and not (seen / "full" / "wmdp").exists()
    assert (seen / "freed.rc").read_text().strip() == "0", (seen / "freed.log").read_text()[-3000:]
    assert (seen / "freed" / "wmdp" / "done.json").exists()
    assert (seen / "freed" / "xstest" / "done.json").read_bytes() == (
        before / "xstest" / "done.json"
    ).read_bytes()
