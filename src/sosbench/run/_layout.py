"""Where a run's files go, and how a benchmark becomes "finished" atomically.

    DIR/manifest.json                 the run manifest (versions, config, hash, timings)
    DIR/<benchmark>/results.json      lm-eval's results JSON for that benchmark's tasks
    DIR/<benchmark>/samples_<task>.jsonl  lm-eval's per-sample logs
    DIR/<benchmark>/done.json         written last: the benchmark is finished

A benchmark is built in ``DIR/.<benchmark>.partial/`` and renamed into place only after its
``done.json`` is written, so a kill -9 never leaves a half-written benchmark that looks finished.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sosbench._io import DONE, MANIFEST, read_json, write_json_atomic, write_text_atomic
from sosbench.errors import SosbenchError


def utc_now() -> str:
    """The timestamp written into manifests and done.json markers (UTC, second resolution)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@dataclass(frozen=True)
class RunDir:
    root: Path

    @property
    def manifest(self) -> Path:
        return self.root / MANIFEST

    def benchmark(self, name: str) -> Path:
        return self.root / name

    def partial(self, name: str) -> Path:
        return self.root / f".{name}.partial"

    def is_done(self, name: str, config_hash: str) -> bool:
        marker = self.benchmark(name) / DONE
        if not marker.exists():
            return False
        try:
            data = read_json(marker, "done marker")
        except SosbenchError:
            return False  # a damaged marker: the unit is redone, which replaces it
        return isinstance(data, dict) and data.get("config_hash") == config_hash

    def start(self, name: str) -> Path:
        """A fresh staging folder for one benchmark (a leftover from a killed run is discarded)."""
        staging = self.partial(name)
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        return staging

    def finish(self, name: str, marker: dict[str, Any]) -> Path:
        """Write done.json into the staging folder, then move it into place."""
        staging = self.partial(name)
        write_json_atomic(staging / DONE, marker)
        final = self.benchmark(name)
        if final.exists():
            shutil.rmtree(final)
        staging.rename(final)
        return final

    def clear_partials(self) -> None:
        for leftover in self.root.glob(".*.partial"):
            shutil.rmtree(leftover, ignore_errors=True)


def write_jsonl(path: Path, rows: list[dict[str, Any]], default: Any = None) -> None:
    """lm-eval's per-sample log format (one JSON object per line), atomic and with the umask's mode."""
    write_text_atomic(
        path, "".join(json.dumps(row, ensure_ascii=False, default=default) + "\n" for row in rows)
    )
