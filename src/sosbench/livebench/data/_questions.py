"""LiveBench questions: from question.jsonl files, hub-like mirror folders or the hub, filtered to a release.

Release rule (LiveBench's own since 2024-10, which for 2024-06-24 gives exactly the 910 questions of
the SOS-Bench paper): keep a row iff its release date <= D and it has no removal date or one after D.
Rows without a ``livebench_release_date`` column come from the June 2024 uploads and count as
2024-06-24.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from sosbench._io import iter_lines, parse_json, read_bytes
from sosbench.errors import SosbenchError
from sosbench.livebench.data._release import CATEGORIES, RELEASE, TASK_CATEGORY

LiveBenchQuestion = dict[str, Any]


def _date(value: Any) -> str | None:
    """YYYY-MM-DD from a string, datetime or pandas Timestamp; None for empty, null or NaT."""
    if value is None or value == "":
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (dt.date, dt.datetime)) or hasattr(value, "isoformat"):
        try:
            return value.isoformat()[:10]
        except ValueError:  # pandas NaT
            return None
    text = str(value).strip()
    return None if text in ("", "NaT", "None", "nan") else text[:10]


def in_release(row: LiveBenchQuestion, release: str = RELEASE) -> bool:
    """Whether a question belongs to the benchmark as released on ``release`` (YYYY-MM-DD)."""
    released = _date(row.get("livebench_release_date")) if "livebench_release_date" in row else RELEASE
    if released is None or released > release:
        return False
    removed = _date(row.get("livebench_removal_date"))
    return removed is None or removed > release


def select_questions(
    rows: Iterable[LiveBenchQuestion],
    *,
    release: str = RELEASE,
    tasks: Iterable[str] | None = None,
    source: str = "questions",
) -> list[LiveBenchQuestion]:
    """The rows of the 17 tasks (or ``tasks``) in the release, sorted by task then id; ids must be unique."""
    wanted = set(tasks) if tasks is not None else set(TASK_CATEGORY)
    unknown = wanted - set(TASK_CATEGORY)
    if unknown:
        raise SosbenchError(f"unknown LiveBench task(s) {', '.join(sorted(unknown))}: see `sosbench list`")
    kept = [row for row in rows if row.get("task") in wanted and in_release(row, release)]
    seen: set[str] = set()
    for row in kept:
        if row["question_id"] in seen:
            raise SosbenchError(
                f"{source}: question_id {row['question_id']} occurs twice; remove the duplicate"
            )
        seen.add(row["question_id"])
    return sorted(kept, key=lambda row: (row["task"], row["question_id"]))


def question_rows(path: Path) -> Iterator[tuple[str, Any]]:
    """``("file:line", value)`` for every non-blank line of a question file, read within the bounds of
    ``sosbench._io`` (values of any JSON type: a row that is not a question fails alone, see
    ``load_questions``)."""
    for number, line, _ended in iter_lines(path, "LiveBench question file"):
        if line.strip():
            yield f"{path}:{number}", parse_json(line, str(path), "fix or remove that line", number)


def _hub_like(folder: Path) -> bool:
    readme = folder / "README.md"
    if not readme.is_file():
        return False
    return "configs:" in read_bytes(readme, "dataset card").decode("utf-8", "replace")


def _question_problem(row: Any) -> str | None:
    """Why a row cannot be a question (before any rule reads its fields), or None."""
    if not isinstance(row, dict):
        return f"a JSON {type(row).__name__}, not a question object"
    if not isinstance(row.get("question_id"), str | int) or isinstance(row.get("question_id"), bool):
        return "no question_id"
    return None


def _questions_only(
    numbered: Iterable[tuple[str, Any]], problems: list[str] | None
) -> Iterator[LiveBenchQuestion]:
    """The rows that can be questions. Each other row is one line in ``problems`` (and skipped), or, with
    no list to report to, the error."""
    for where, row in numbered:
        problem = _question_problem(row)
        if problem is None:
            yield row
        elif problems is None:
            raise SosbenchError(f"{where}: {problem}: fix or remove that row")
        else:
            problems.append(f"{where}: {problem}; row skipped")


def _from_dataset(location: str, revision: str | None = None) -> list[LiveBenchQuestion]:
    """The ``test`` split of a hub dataset id or a hub-like folder (the offline mirror layout)."""
    from sosbench.errors import require

    require("datasets", "eval")
    import datasets

    try:
        table = datasets.load_dataset(location, split="test", revision=revision)
    except Exception as exc:  # noqa: BLE001 - datasets raises many types for a missing/offline dataset
        raise SosbenchError(
            f"cannot load LiveBench questions from {location} ({type(exc).__name__}): "
            "run `sosbench data pull` and pass the mirror, or give question.jsonl files"
        ) from None
    return [dict(row) for row in table]


def _pinned_revision(dataset_id: str) -> str | None:
    from sosbench.suite import benchmarks

    revisions = {spec.id: spec.revision for bench in benchmarks() for spec in bench.datasets}
    return revisions.get(dataset_id)


def load_questions(
    source: str | Path,
    *,
    release: str = RELEASE,
    tasks: Iterable[str] | None = None,
    problems: list[str] | None = None,
) -> list[LiveBenchQuestion]:
    """Questions of ``release`` from a question.jsonl file, a folder of them (searched recursively for
    ``question*.jsonl``), a hub-like dataset folder, a mirror root holding ``livebench/<category>/``,
    or a hub id ``livebench/<category>`` (read at the revision the suite registry pins).

    A row that cannot be a question (not an object, no question_id) is an error, or, given a
    ``problems`` list, one line there and skipped, so that one bad row does not stop the rest."""
    path = Path(source)
    numbered: Iterable[tuple[str, Any]]
    if path.is_file():
        numbered = question_rows(path)
    elif path.is_dir():
        numbered = _rows_in_folder(path)
    elif str(source).startswith("livebench/") and str(source).split("/", 1)[1] in CATEGORIES:
        numbered = _numbered(str(source), _from_dataset(str(source), _pinned_revision(str(source))))
    else:
        raise SosbenchError(f"questions not found: {source} is neither a question.jsonl file nor a folder")
    rows = list(_questions_only(numbered, problems))
    questions = select_questions(rows, release=release, tasks=tasks, source=str(source))
    if not questions:
        raise SosbenchError(f"{source}: no LiveBench question of release {release} found")
    return questions


def _numbered(location: str, rows: list[LiveBenchQuestion]) -> Iterator[tuple[str, Any]]:
    return ((f"{location} row {number}", row) for number, row in enumerate(rows, 1))


def _rows_in_folder(folder: Path) -> Iterator[tuple[str, Any]]:
    if _hub_like(folder):
        yield from _numbered(str(folder), _from_dataset(str(folder)))
        return
    categories = [folder / "livebench" / name for name in CATEGORIES] + [folder / name for name in CATEGORIES]
    hub_folders = [candidate for candidate in categories if _hub_like(candidate)]
    if hub_folders:
        for candidate in hub_folders:
            yield from _numbered(str(candidate), _from_dataset(str(candidate)))
        return
    files = sorted(folder.rglob("question*.jsonl"))
    if not files:
        raise SosbenchError(f"{folder}: no question*.jsonl file and no hub-like dataset folder inside")
    for file in files:
        yield from question_rows(file)
