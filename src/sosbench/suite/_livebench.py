"""LiveBench releases as data (livebench_releases.yaml): dates, categories, tasks and hub revisions.

The one place a release is defined; the suite, the question filter, the lm-eval hooks and the scorers'
category map all read it, so a new release is one entry in the YAML file.
"""

from __future__ import annotations

import functools
from pathlib import Path
from types import MappingProxyType

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sosbench._io import read_yaml
from sosbench.errors import SosbenchError, from_validation

RELEASES_FILE = Path(__file__).with_name("livebench_releases.yaml")


class LiveBenchCategory(BaseModel):
    """One category of a release: the hub dataset's revision and the category's tasks."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    revision: str | None
    tasks: tuple[str, ...] = Field(min_length=1)


class LiveBenchRelease(BaseModel):
    """One LiveBench release: its date, question count and categories."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    date: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    questions: int = Field(gt=0)
    categories: dict[str, LiveBenchCategory] = Field(min_length=1)

    @field_validator("categories")
    @classmethod
    def _tasks_unique(cls, value: dict[str, LiveBenchCategory]) -> dict[str, LiveBenchCategory]:
        tasks = [task for category in value.values() for task in category.tasks]
        if len(tasks) != len(set(tasks)):
            raise ValueError("a task is listed in two categories")
        return value

    @property
    def tasks(self) -> tuple[str, ...]:
        """Every task of the release, category by category."""
        return tuple(task for category in self.categories.values() for task in category.tasks)

    @property
    def category_tasks(self) -> MappingProxyType[str, tuple[str, ...]]:
        """Category -> its tasks."""
        return MappingProxyType({name: spec.tasks for name, spec in self.categories.items()})

    @property
    def task_category(self) -> MappingProxyType[str, str]:
        """Task -> its category."""
        return MappingProxyType({t: name for name, spec in self.categories.items() for t in spec.tasks})


class _ReleasesFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int
    default: str
    releases: tuple[LiveBenchRelease, ...] = Field(min_length=1)


@functools.cache
def livebench_releases() -> MappingProxyType[str, LiveBenchRelease]:
    """Every release of livebench_releases.yaml, by date."""
    return MappingProxyType({r.date: r for r in _read_releases().releases})


@functools.cache
def livebench_release(date: str | None = None) -> LiveBenchRelease:
    """The release of ``date``, or the default one (the SOS-Bench paper's 2024-06-24)."""
    date = date or _read_releases().default
    try:
        return livebench_releases()[date]
    except KeyError:
        known = ", ".join(livebench_releases())
        raise SosbenchError(
            f"unknown LiveBench release {date!r}: sosbench knows {known} (add one to {RELEASES_FILE.name})"
        ) from None


@functools.cache
def _read_releases() -> _ReleasesFile:
    data = read_yaml(RELEASES_FILE, "LiveBench releases file")
    try:
        parsed = _ReleasesFile.model_validate(data)
    except ValidationError as exc:
        raise from_validation(exc, str(RELEASES_FILE), "fix the release entry") from None
    if parsed.default not in {r.date for r in parsed.releases}:
        raise SosbenchError(f"{RELEASES_FILE}: default {parsed.default!r} is not one of the releases")
    return parsed
