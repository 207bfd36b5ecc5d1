"""Make the Arena-Hard-Auto v2.0 interoperability data: sosbench's files read by the official code, and back.

    .venv/bin/python tests/data/arena_hard_v2_official/make.py --python SCRATCH/bin/python --official-git DIR

``--python`` is a scratch environment with the official requirements (tiktoken, pandas, torch, openai,
boto3, shortuuid, ...), outside this repository; ``--official-git`` a git clone of lmarena/arena-hard-auto
holding commit 196f6b8. Nothing of the official code is copied here or changed; it is exported to a
temporary folder and run there.

1. sosbench writes a bench folder with its CLI against the loopback fake judge (tests/_fake_endpoint.py):
   the first 6 hard_prompt and 3 creative_writing questions, answers of ``alpha`` and ``beta`` (``judge
   answer``, with metadata) and of ``long`` (tests/_fake_endpoint.py's synthetic model, 1.3 times the
   baseline's length on average, metadata by ``answer_metadata``: the length-loving fake judge prefers it
   on some questions and not others), and their judgments by judge ``sos-judge`` (``judge run``, faults
   on, so some games have no verdict). creative_writing's baseline is a stand-in: o3-mini's answers under
   gemini-2.0-flash-001's name (the real ones are not shipped).
2. In the exported official code, with the bench under data/arena-hard-v2.0/ and the shipped o3-mini
   answers beside it:
   a. ``gen_judgment.py`` for judge ``sos-judge`` and models alpha, beta, long: it must count every
      sosbench judgment as existing and call nothing (the server's request count is recorded);
   b. ``gen_judgment.py`` judges ``alpha`` and ``long`` as judge ``official-judge`` against the same fake
      judge (faults off: the official client does not survive a 500): official files for sosbench to read;
   c. ``official_readers.py`` reads it all with the official readers (show_result.py, utils/completion.py).
3. The bench (less the shipped o3-mini file), the official judge's file and the official outputs
   (``official.json``) are written beside this script. tests/judge/test_judge_v2_official.py compares
   sosbench's readers with them.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # tests/, for the fake endpoint

from _fake_endpoint import ScriptedServer, cli, endpoint, make_v2_bench  # noqa: E402

from sosbench.judge._templates import data_file  # noqa: E402

COMMIT = "196f6b826783b3da7310e361a805fa36f0be83f3"
BENCH = "arena-hard-v2.0"
O3 = "o3-mini-2025-01-31"


def sosbench_side(bench: Path) -> None:
    make_v2_bench(bench, hard=6, creative=3, gemini=True)
    for path in (bench / "model_answer").glob("*.jsonl"):  # the gemini stand-in and "long" stay
        if path.stem in ("tiny", "short", "huge"):
            path.unlink()
    with ScriptedServer() as server:
        for model in ("alpha", "beta"):
            result = cli("judge", "answer", "--model", model, "-d", str(bench), *endpoint(server))
            assert result.exit_code == 0, result.output
        models = "alpha,beta,long"
        result = cli(
            "judge", "run", "--judge", "sos-judge", "--models", models, "-d", str(bench), *endpoint(server)
        )
        assert result.exit_code == 0, result.output


def official_side(bench: Path, python: str, git_dir: str, work: Path) -> dict:
    root = work / "official"
    root.mkdir()
    code = ["gen_judgment.py", "show_result.py", "gen_answer.py", "utils", "config"]  # the code, not its data
    archive = subprocess.run(
        ["git", "--git-dir", git_dir, "archive", COMMIT, *code], check=True, capture_output=True
    )
    subprocess.run(["tar", "-x", "-C", str(root)], input=archive.stdout, check=True)
    data = root / "data" / BENCH
    shutil.copytree(bench, data)
    shutil.copy(data_file("arena_hard_v2", "model_answer", f"{O3}.jsonl"), data / "model_answer")
    config = (root / "config" / f"{BENCH}.yaml").read_text()
    out: dict = {"commit": COMMIT, "gen_judgment": {}}
    with ScriptedServer(faults=False) as server:
        api = root / "api_fake.yaml"
        api.write_text(
            "".join(
                f"{judge}:\n  model: {judge}\n  endpoints:\n    - api_base: {server.url}\n"
                "      api_key: test\n"
                "  api_type: openai\n  parallel: 2\n"
                for judge in ("sos-judge", "official-judge")
            )
        )
        for judge, models in (
            ("sos-judge", ["alpha", "beta", "long"]),
            ("official-judge", ["alpha", "long"]),
        ):
            setting = root / f"setting_{judge}.yaml"
            listed = "".join(f"  - {m}\n" for m in models)
            setting.write_text(
                config.replace("judge_model: gpt-4.1", f"judge_model: {judge}").replace(
                    "model_list:\n  - deepseek-r1", f"model_list:\n{listed}"
                )
            )
            before = server.counts["requests"]
            run = subprocess.run(
                [python, "gen_judgment.py", "--setting-file", setting.name, "--endpoint-file", api.name],
                cwd=root,
                capture_output=True,
                text=True,
                check=True,
            )
            out["gen_judgment"][judge] = {
                "stdout": run.stdout,
                "requests": server.counts["requests"] - before,
            }
    shutil.copy(HERE / "official_readers.py", root / "official_readers.py")
    readers = subprocess.run(
        [python, "official_readers.py", "sos-judge", "official-judge"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    out["readers"] = json.loads(readers.stdout)
    shutil.copytree(data / "model_judgment" / "official-judge", work / "official-judge")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", required=True, help="python of the scratch environment")
    parser.add_argument("--official-git", required=True, help="git dir of lmarena/arena-hard-auto")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        bench = work / BENCH
        sosbench_side(bench)
        official = official_side(bench, args.python, args.official_git, work)
        target = HERE / "bench"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(bench, target, ignore=shutil.ignore_patterns(".sosbench.lock", ".partial"))
        shutil.copytree(work / "official-judge", target / "model_judgment" / "official-judge")
        (HERE / "official.json").write_text(json.dumps(official, indent=1, sort_keys=True) + "\n")
    print(f"written to {HERE}")


if __name__ == "__main__":
    main()
