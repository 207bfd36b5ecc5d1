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
    write_bytes_atomic,
    write_json_atomic,
    write_text_atomic,
)
from sosbench.errors import SosbenchError
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


def _write_readme(folder: Path, dataset_id: str, layout: dict[str, list[str]], revision: str | None) -> None:
    """The hub-style dataset card whose YAML header tells `datasets` the configs and their files."""
    configs = [
        {
            "config_name": config,
            "data_files": [{"split": split, "path": f"{config}/{split}.parquet"} for split in splits],
        }
        for config, splits in layout.items()
    ]
    header = yaml.safe_dump({"configs": configs}, sort_keys=False)
    body = (
        f"# {dataset_id} (sosbench offline mirror)\n\n"
        f"Copied from the Hugging Face hub dataset `{dataset_id}` at revision `{revision or 'unknown'}` by "
        "`sosbench data pull`. The original dataset's license and terms apply.\n"
    )
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
) -> None:
    """Write ``{(config, split): datasets.Dataset}`` into the mirror and record it in the manifest.

    Each file is written atomically and the manifest last, so a dataset is either fully
    registered or absent.
    """
    import datasets

    datasets.disable_progress_bars()
    folder = repo_folder(data_dir, dataset_id)
    layout: dict[str, list[str]] = {}
    files: dict[str, str] = {}
    for (config, split), table in tables.items():
        name = config_dir_name(config)
        target = folder / name / f"{split}.parquet"
        buffer = io.BytesIO()
        table.to_parquet(buffer)
        write_bytes_atomic(target, buffer.getvalue())  # atomic, and readable by the team as the umask allows
        layout.setdefault(name, []).append(split)
        files[f"{name}/{split}.parquet"] = _sha256(target)
    _write_readme(folder, dataset_id, layout, revision)
    files["README.md"] = _sha256(folder / "README.md")
    manifest = load_manifest(data_dir)
    manifest.setdefault("datasets", {})[dataset_id] = {
        "revision": revision,
        "requested_revision": requested_revision,
        "configs": layout,
        "files": files,
        "source": source,
        "pulled": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    write_json_atomic(data_dir / MANIFEST_NAME, manifest)


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
    from sosbench.errors import require

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
    entry = manifest.get("datasets", {}).get(spec.id)
    if not entry:
        return False
    have = entry.get("configs", {})
    folder = repo_folder(data_dir, spec.id)
    return all(
        split in have.get(config_dir_name(c), [])
        and (folder / config_dir_name(c) / f"{split}.parquet").exists()
        for c in spec.configs
        for split in spec.splits
    )


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
