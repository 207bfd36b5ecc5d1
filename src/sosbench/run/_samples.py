"""The sample items shipped in the package (``sosbench/data/demo``), as a mirror `sosbench run` reads.

Real benchmark items in their hub schemas, a few per task (sources, licenses and every stand-in in the
folder's README.md and data.json). They are written into a mirror through the same code as
`sosbench data add`, with checksums, so `sosbench data verify` checks the result like any other mirror.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from sosbench._io import read_json
from sosbench.errors import SosbenchError
from sosbench.run._mirror import MANIFEST_NAME, add_files, missing_from_mirror
from sosbench.suite import Benchmark, benchmarks

SAMPLES_PACKAGE = "sosbench.data"
SAMPLES_FOLDER = "demo"


@dataclass(frozen=True)
class SampleFile:
    """One shipped file and the hub dataset part it stands for."""

    file: str
    dataset: str
    config: str | None
    split: str
    source: str | None = None
    stand_in: str | None = None
    """Why a file fills a part the samples lack (None: the part's own real items)."""


def samples_folder() -> Path:
    return Path(str(resources.files(SAMPLES_PACKAGE).joinpath(SAMPLES_FOLDER)))


def sample_files() -> list[SampleFile]:
    path = samples_folder() / "data.json"
    try:
        data = read_json(path, "packaged sample list")
        return [SampleFile(**entry) for entry in data["files"]]
    except (SosbenchError, KeyError, TypeError) as exc:
        raise SosbenchError(
            f"{path}: the packaged sample data is damaged ({exc}): reinstall sosbench"
        ) from None


def build_sample_mirror(data_dir: Path) -> list[str]:
    """Write every shipped sample into the mirror ``data_dir`` (kept if already there); returns the ids
    written."""
    from sosbench.run._mirror import load_manifest

    folder = samples_folder()
    have = load_manifest(data_dir).get("datasets", {}) if (data_dir / MANIFEST_NAME).is_file() else {}
    grouped: dict[str, dict[tuple[str | None, str], list[Path]]] = {}
    for entry in sample_files():
        parts = grouped.setdefault(entry.dataset, {})
        parts.setdefault((entry.config, entry.split), []).append(folder / entry.file)
    written = []
    for dataset, parts in grouped.items():
        configs = have.get(dataset, {}).get("configs", {})
        if all(split in configs.get(config or "default", []) for config, split in parts):
            continue
        add_files(data_dir, dataset, parts)
        written.append(dataset)
    return written


def sampled_benchmarks(data_dir: Path, candidates: list[Benchmark] | None = None) -> list[Benchmark]:
    """The benchmarks (in suite order) whose every dataset part the mirror ``data_dir`` holds."""
    chosen = candidates if candidates is not None else benchmarks()
    return [b for b in chosen if not missing_from_mirror(data_dir, [b])]


def sample_benchmark_names() -> list[str]:
    """The benchmarks (suite order) whose every dataset part the packaged samples hold."""
    held = {(e.dataset, e.config or "default", e.split) for e in sample_files()}
    return [
        b.name
        for b in benchmarks()
        if all(
            (spec.id, config or "default", split) in held
            for spec in b.datasets
            for config in spec.configs
            for split in spec.splits
        )
    ]


def stand_ins() -> list[str]:
    """One line per part the shipped samples fill with other real items (said in the demo's output)."""
    return [
        f"{e.dataset} {e.config or 'default'}/{e.split}: {e.stand_in}" for e in sample_files() if e.stand_in
    ]
