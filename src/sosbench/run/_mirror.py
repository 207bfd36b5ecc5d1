"""The offline dataset mirror: plain hub-repo-like folders that `datasets` loads with no hub.

Layout (documented in docs/mirror.md)::

    MIRROR/
      sosbench-mirror.json            checksums and provenance of every file
      <owner>/<name>/README.md        YAML header: `configs:` with each config's data files per split
      <owner>/<name>/<config>/<split>.parquet

`datasets.load_dataset("MIRROR/<owner>/<name>", name=config, split=split)` reads such a folder
offline, so lm-eval tasks run unchanged once their `dataset_path` points there.
"""

from __future__ import annotations

import hashlib
import io
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from sosbench._io import (
    folder_lock,
    open_regular,
    read_json,
    read_jsonl,
    write_bytes_atomic,
    write_json_atomic,
    write_text_atomic,
)
from sosbench.errors import SosbenchError, require
from sosbench.suite import Benchmark, DatasetSpec

MANIFEST_NAME = "sosbench-mirror.json"
DEFAULT_CONFIG = "default"
HUB_PROBE_TIMEOUT_S = 4.0


@dataclass(frozen=True)
class DatasetNeed:
    """One dataset repository a selection needs, with the union of its configs and splits."""

    spec: DatasetSpec
    benchmarks: tuple[str, ...]


def dataset_needs(benchmarks: Iterable[Benchmark]) -> list[DatasetNeed]:
    """The datasets a selection reads, merged by repository id (in suite order)."""
    merged: dict[str, tuple[DatasetSpec, list[str]]] = {}
    for bench in benchmarks:
        for spec in bench.datasets:
            if spec.id in merged:
                old, users = merged[spec.id]
                spec = DatasetSpec(
                    spec.id,
                    tuple(dict.fromkeys(old.configs + spec.configs)),
                    tuple(dict.fromkeys(old.splits + spec.splits)),
                    old.revision or spec.revision,
                )
                users.append(bench.name)
                merged[spec.id] = (spec, users)
            else:
                merged[spec.id] = (spec, [bench.name])
    return [DatasetNeed(spec, tuple(users)) for spec, users in merged.values()]


def repo_folder(data_dir: Path, dataset_id: str) -> Path:
    """Where a hub dataset ``owner/name`` lives inside a mirror."""
    return data_dir.joinpath(*dataset_id.split("/"))


def config_dir_name(config: str | None) -> str:
    return config or DEFAULT_CONFIG


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open_regular(path, "mirror file") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_readme(
    folder: Path, dataset_id: str, layout: dict[str, list[str]], revision: str | None, source: str = "hub"
) -> None:
    """The hub-style dataset card whose YAML header tells `datasets` the configs and their files."""
    configs = [
        {
            "config_name": config,
            "data_files": [{"split": split, "path": f"{config}/{split}.parquet"} for split in splits],
        }
        for config, splits in layout.items()
    ]
    header = yaml.safe_dump({"configs": configs}, sort_keys=False)
    origin = (
        f"Copied from the Hugging Face hub dataset `{dataset_id}` at revision `{revision or 'unknown'}` by "
        "`sosbench data pull`."
        if source == "hub"
        else f"Built for the hub dataset `{dataset_id}` from {source} (`sosbench data add` or a pull from "
        "another mirror)."
    )
    terms = "The original dataset's license and terms apply."
    body = f"# {dataset_id} (sosbench offline mirror)\n\n{origin} {terms}\n"
    write_text_atomic(folder / "README.md", f"---\n{header}---\n{body}")


def _resolve_revision(dataset_id: str, revision: str | None) -> str | None:
    """The commit a hub pull reads, so the manifest records what was actually copied."""
    try:
        from huggingface_hub import HfApi

        return HfApi().dataset_info(dataset_id, revision=revision, timeout=HUB_PROBE_TIMEOUT_S * 3).sha
    except Exception:  # noqa: BLE001 - provenance is best effort; the data itself was loaded
        return revision


def add_dataset(
    data_dir: Path,
    dataset_id: str,
    tables: dict[tuple[str | None, str], Any],
    *,
    revision: str | None,
    requested_revision: str | None = None,
    source: str = "hub",
    extend: bool = False,
) -> None:
    """Write ``{(config, split): datasets.Dataset}`` into the mirror and record it in the manifest.

    Each file is written atomically and the manifest last, so a dataset is either fully
    registered or absent. ``extend`` keeps the dataset's other configs and splits already in the
    mirror (`sosbench data add`); otherwise the entry is replaced (a pull copies whole datasets).
    """
    import datasets

    check_dataset_id(dataset_id)
    datasets.disable_progress_bars()
    folder = repo_folder(data_dir, dataset_id)
    old = load_manifest(data_dir).get("datasets", {}).get(dataset_id) if extend else None
    layout: dict[str, list[str]] = {c: list(s) for c, s in (old or {}).get("configs", {}).items()}
    files: dict[str, str] = dict((old or {}).get("files", {}))
    for (config, split), table in tables.items():
        name = config_dir_name(config)
        check_part_name(name, "config")
        check_part_name(split, "split")
        target = folder / name / f"{split}.parquet"
        buffer = io.BytesIO()
        table.to_parquet(buffer)
        write_bytes_atomic(target, buffer.getvalue())  # atomic, and readable by the team as the umask allows
        if split not in layout.setdefault(name, []):
            layout[name].append(split)
        files[f"{name}/{split}.parquet"] = _sha256(target)
    _write_readme(folder, dataset_id, layout, revision, source)
    files["README.md"] = _sha256(folder / "README.md")
    manifest = load_manifest(data_dir)
    sources = [s for s in ((old or {}).get("source") or "").split("; ") if s and s != source]
    manifest.setdefault("datasets", {})[dataset_id] = {
        "revision": revision,
        "requested_revision": requested_revision,
        "configs": layout,
        "files": files,
        "source": "; ".join([*sources, source]),
        "pulled": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    write_json_atomic(data_dir / MANIFEST_NAME, manifest)


_DATASET_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*$")
_PART_NAME = re.compile(r"^[A-Za-z0-9][\w.-]*$")
FILE_FORMATS = {".jsonl": "json", ".json": "json", ".parquet": "parquet", ".csv": "csv"}


def check_dataset_id(dataset_id: str) -> None:
    """A hub id ``owner/name``: what the task definitions load, and a safe folder inside the mirror."""
    if not _DATASET_ID.match(dataset_id) or ".." in dataset_id:
        raise SosbenchError(
            f"--dataset {dataset_id!r} is not a hub dataset id: write it as OWNER/NAME, as the benchmark's "
            "task loads it (`sosbench list --format json` shows each benchmark's datasets)"
        )


def check_part_name(name: str, what: str) -> None:
    if not _PART_NAME.match(name) or ".." in name:
        raise SosbenchError(
            f"{what} name {name!r} cannot be a file name in the mirror: use letters, digits, '.', '-' or '_'"
        )


def read_table_files(paths: list[Path]) -> Any:
    """One `datasets.Dataset` from local JSONL/JSON/Parquet/CSV files (rows in file order).

    JSON rows are read with one schema inferred over all of them, so files whose optional fields are null
    in some rows and filled in others (LiveBench's task files of one category) still form one split.
    """
    require("datasets", "eval")
    import datasets

    datasets.disable_progress_bars()
    kinds = set()
    for path in paths:
        if not path.is_file():
            raise SosbenchError(f"{path}: no such file: give JSONL, JSON, Parquet or CSV files")
        kind = FILE_FORMATS.get(path.suffix.lower())
        if kind is None:
            raise SosbenchError(
                f"{path}: unknown format {path.suffix!r}: use .jsonl, .json, .parquet or .csv"
            )
        kinds.add(kind)
    if len(kinds) > 1:
        raise SosbenchError("the files of one split must have one format: convert them first")
    kind = kinds.pop()
    names = ", ".join(str(p) for p in paths)
    try:
        if kind == "json":
            table = datasets.Dataset.from_list([row for path in paths for row in _json_rows(path)])
        else:
            table = datasets.load_dataset(
                kind, data_files=[str(p) for p in paths], split="train", keep_in_memory=True
            )
    except SosbenchError:
        raise
    except Exception as exc:  # noqa: BLE001 - pyarrow's and datasets' many parse errors, as one line
        cause = exc.__cause__ or exc
        first = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
        raise SosbenchError(f"cannot read {names}: {first}") from None
    if len(table) == 0:
        raise SosbenchError(f"{names}: no rows")
    return table


def _json_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of a JSONL file (one object a line) or a JSON file (a list of objects), read bounded."""
    if path.suffix.lower() == ".json":
        data = read_json(path, "data file")
        if not isinstance(data, list) or not all(isinstance(row, dict) for row in data):
            raise SosbenchError(
                f"{path}: expected one JSON object per row (JSONL, or a JSON list of objects)"
            )
        return data
    return read_jsonl(path, "data file")


def add_files(
    data_dir: Path, dataset_id: str, splits: dict[tuple[str | None, str], list[Path]]
) -> dict[tuple[str | None, str], int]:
    """Build or extend a mirror from local files in the hub's schema: ``{(config, split): files}``.

    The dataset's other configs and splits in the mirror are kept; the checksums go into the manifest
    as for a pull (`sosbench data verify`). Returns the rows written per split.
    """
    check_dataset_id(dataset_id)
    if data_dir.exists() and not data_dir.is_dir():
        raise SosbenchError(f"--data-dir {data_dir} is a file, not a folder: choose a folder path")
    tables = {key: read_table_files(paths) for key, paths in splits.items()}
    source = "local files: " + ", ".join(str(p.resolve()) for paths in splits.values() for p in paths)
    with folder_lock(data_dir, "the mirror"):
        add_dataset(data_dir, dataset_id, tables, revision=None, source=source, extend=True)
    return {key: len(table) for key, table in tables.items()}


def missing_parts(data_dir: Path, spec: DatasetSpec, manifest: dict[str, Any] | None = None) -> list[str]:
    """``config/split`` parts of a dataset a benchmark reads that the mirror does not hold: not recorded in
    its manifest, or recorded without the file."""
    manifest = load_manifest(data_dir) if manifest is None else manifest
    have = (manifest.get("datasets", {}).get(spec.id) or {}).get("configs", {})
    folder = repo_folder(data_dir, spec.id)
    missing = []
    for config in spec.configs:
        name = config_dir_name(config)
        for split in spec.splits:
            if split not in have.get(name, []) or not (folder / name / f"{split}.parquet").exists():
                missing.append(f"{name}/{split}")
    return missing


def pull(
    data_dir: Path,
    benchmarks: Iterable[Benchmark],
    *,
    source: Path | None = None,
    on_file: Callable[[str], None] | None = None,
) -> list[str]:
    """Copy every dataset the selection needs into ``data_dir``; returns the dataset ids copied.

    From the hub by default (pinned revisions where the registry has them), or from ``source``,
    another mirror (moving data onto an air-gapped cluster). Datasets already complete are kept,
    so an interrupted pull resumes where it stopped. The mirror is locked while it is written: a second
    pull into the same folder is refused with one line instead of interleaving manifest updates.
    """
    require("datasets", "eval")
    import datasets

    if data_dir.exists() and not data_dir.is_dir():
        raise SosbenchError(f"--data-dir {data_dir} is a file, not a folder: choose a folder path")
    with folder_lock(data_dir, "the mirror"):
        return _pull_locked(data_dir, benchmarks, datasets, source, on_file)


def _pull_locked(
    data_dir: Path,
    benchmarks: Iterable[Benchmark],
    datasets: Any,
    source: Path | None,
    on_file: Callable[[str], None] | None,
) -> list[str]:
    copied = []
    for need in dataset_needs(benchmarks):
        spec = need.spec
        if _complete(data_dir, load_manifest(data_dir), spec):
            continue
        origin = str(repo_folder(source, spec.id)) if source else spec.id
        if source and not Path(origin).is_dir():
            raise SosbenchError(
                f"{origin} is missing: the source mirror has no {spec.id} "
                f"(needed by {', '.join(need.benchmarks)})"
            )
        tables = {}
        for config in spec.configs:
            for split in spec.splits:
                if on_file:
                    on_file(f"{spec.id} {config_dir_name(config)}/{split}")
                try:
                    tables[(config, split)] = datasets.load_dataset(
                        origin, name=config, split=split, revision=None if source else spec.revision
                    )
                except Exception as exc:  # noqa: BLE001 - turned into one line naming the dataset
                    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                    gated = " (gated: accept its terms on the hub and set HF_TOKEN)" if _gated(need) else ""
                    raise SosbenchError(
                        f"cannot download {spec.id} ({config_dir_name(config)}/{split}) for "
                        f"{', '.join(need.benchmarks)}: {first}{gated}"
                    ) from None
        if source:
            revision = load_manifest(source).get("datasets", {}).get(spec.id, {}).get("revision")
        else:
            revision = _resolve_revision(spec.id, spec.revision)
        add_dataset(
            data_dir,
            spec.id,
            tables,
            revision=revision,
            requested_revision=spec.revision,
            source=str(source) if source else "hub",
        )
        copied.append(spec.id)
    return copied


def _gated(need: DatasetNeed) -> bool:
    from sosbench.suite import get_benchmark

    return any(get_benchmark(name).gated for name in need.benchmarks)


def load_manifest(data_dir: Path) -> dict[str, Any]:
    path = data_dir / MANIFEST_NAME
    if not path.exists():
        return {"schema_version": 1, "datasets": {}}
    try:
        data = read_json(path, "mirror manifest")
    except SosbenchError as exc:
        raise SosbenchError(
            f"{exc} (or move it away and rerun `sosbench data pull --data-dir {data_dir}`)"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("datasets", {}), dict):
        raise SosbenchError(
            f'{path} is not a sosbench mirror manifest (expected an object with "datasets"): '
            f"move it away and rerun `sosbench data pull --data-dir {data_dir}`"
        )
    return data


def _complete(data_dir: Path, manifest: dict[str, Any], spec: DatasetSpec) -> bool:
    return bool(manifest.get("datasets", {}).get(spec.id)) and not missing_parts(data_dir, spec, manifest)


def verify(data_dir: Path) -> list[str]:
    """Problems found in a mirror (missing or changed files), checked offline against its manifest."""
    if not (data_dir / MANIFEST_NAME).exists():
        return [f"{data_dir / MANIFEST_NAME} is missing: run `sosbench data pull --data-dir {data_dir}`"]
    problems = []
    for dataset_id, entry in load_manifest(data_dir).get("datasets", {}).items():
        folder = repo_folder(data_dir, dataset_id)
        for rel, digest in entry.get("files", {}).items():
            path = folder / rel
            if not path.exists():
                problems.append(f"{dataset_id}: {rel} is missing")
            elif not path.is_file():  # a FIFO or a device would block or never end: not opened
                problems.append(f"{dataset_id}: {rel} is not a regular file")
            elif _sha256(path) != digest:
                problems.append(f"{dataset_id}: {rel} does not match its checksum")
    return problems


def missing_from_mirror(data_dir: Path, benchmarks: Iterable[Benchmark]) -> list[tuple[str, str]]:
    """(benchmark, dataset id) pairs whose data the mirror lacks."""
    manifest = load_manifest(data_dir)
    missing = []
    for bench in benchmarks:
        for spec in bench.datasets:
            if not _complete(data_dir, manifest, spec):
                missing.append((bench.name, spec.id))
    return missing
