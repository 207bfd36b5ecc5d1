"""Peak memory of `sosbench judge run` when replies are hostile, against the same run with sane replies.

Usage: python benchmarks/judge_reply_memory.py [--parallel N] [--bomb-mib M]

Both runs judge the same bench (four models, ten questions: 80 games) against the loopback fake endpoint
of the tests, with ``--parallel N``, each in a child process under a 3 GiB address-space limit
(tests/_bounded.py). In the hostile run three games in four get a reply over the transport cap: a gzip
or deflate bomb of M MiB once decoded, or a plain body of M MiB, each of which would parse as a valid
judgment if read whole. Prints each run's peak RSS and the ratio hostile / sane (the goal: near 1, since
a capped reply costs at most the cap, 1.75 MiB for max_tokens 4096, per request in flight).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from _bounded import run_bounded  # noqa: E402
from _fake_endpoint import JUDGE, MODELS, ScriptedServer, endpoint, game_bucket, make_bench  # noqa: E402


def _completion(text: str) -> bytes:
    choice = {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
    usage = {"prompt_tokens": 3, "completion_tokens": 1}
    return json.dumps({"id": "c", "object": "chat.completion", "choices": [choice], "usage": usage}).encode()


def _compressed(size_mib: int, tail: bytes, wbits: int) -> bytes:
    packer = zlib.compressobj(1, zlib.DEFLATED, wbits)
    block = b" " * (1 << 20)
    return b"".join(packer.compress(block) for _ in range(size_mib)) + packer.compress(tail) + packer.flush()


def peak_rss(folder: Path, parallel: int, hostile_mib: int | None) -> tuple[float, int, str]:
    """(peak RSS in MiB, exit code, last stderr line) of one `judge run` of the whole bench."""
    bench = make_bench(folder / "bench")
    verdict = _completion("My final verdict is: [[A>B]]")
    bombs = {}
    if hostile_mib:
        bombs = {
            "gzip": (_compressed(hostile_mib, verdict, 16 + zlib.MAX_WBITS), {"Content-Encoding": "gzip"}),
            "deflate": (_compressed(hostile_mib, verdict, zlib.MAX_WBITS), {"Content-Encoding": "deflate"}),
        }

    def reply(body: dict, headers: object) -> tuple[int, object, dict] | None:
        if not hostile_mib:
            return None
        kind = ("gzip", "deflate", "plain", None)[game_bucket(body["messages"][1]["content"]) % 4]
        if kind is None:
            return None
        if kind == "plain":
            return 200, itertools.chain(itertools.repeat(b" " * (1 << 20), hostile_mib), [verdict]), {}
        return 200, *bombs[kind]

    models = ",".join(MODELS)
    with ScriptedServer(faults=False, raw=reply) as server:
        args = ["judge", "run", "--judge", JUDGE, "--models", models, "-d", str(bench), "-t", "arena-hard"]
        (outcome,) = run_bounded(
            [[*args, "--parallel", str(parallel), *endpoint(server)]], folder, timeout=600
        )
    lines = outcome.stderr.strip().splitlines()
    return outcome.max_rss_mib, outcome.exit_code, lines[-1] if lines else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parallel", type=int, default=8)
    parser.add_argument("--bomb-mib", type=int, default=512)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as sane_dir, tempfile.TemporaryDirectory() as hostile_dir:
        sane, sane_code, _ = peak_rss(Path(sane_dir), options.parallel, None)
        hostile, code, last = peak_rss(Path(hostile_dir), options.parallel, options.bomb_mib)
    print(f"sane replies:    peak RSS {sane:7.1f} MiB (exit {sane_code})")
    print(f"hostile replies: peak RSS {hostile:7.1f} MiB (exit {code}: {last[:120]})")
    print(f"ratio hostile / sane: {hostile / sane:.2f}")


if __name__ == "__main__":
    main()
