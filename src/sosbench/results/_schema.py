"""Typed, strict models of the files that drive scoring: lm-eval results JSON and the scoring constants
(``data/scoring/scoring.yaml``). The run folder's own files (manifest, done markers) are typed by their
contract, ``sosbench.rundir``.

Every model forbids unknown keys and takes types as they are (no ``"0.5"`` for 0.5, no ``true`` for 1),
so a misspelt key or a wrong type is one error line naming the file and the key instead of a value that
is silently ignored. Values that scoring averages are checked again where they are read
(:func:`check_score`, :func:`check_stderr`): a score outside [0, 1], a negative or infinite stderr is
refused, not shown as 750 points.
"""

from __future__ import annotations

import functools
import math
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    PlainValidator,
    PositiveInt,
    ValidationError,
    model_validator,
)

from sosbench._io import read_json_object, read_yaml
from sosbench.errors import SosbenchError, from_validation

SCORING_FILE = "data/scoring/scoring.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)


# --------------------------------------------------------------------------------- lm-eval results


def _metric_value(value: Any) -> float | str | None:
    """A ``<metric>,<filter>`` value: a number, lm-eval's "N/A" for a stderr it did not compute, or null."""
    if value is None or value == "N/A" or (isinstance(value, (int, float)) and not isinstance(value, bool)):
        return value
    raise ValueError('expected a number (or "N/A" for a stderr lm-eval did not compute)')


MetricValue = Annotated[Any, PlainValidator(_metric_value)]


class TaskMetrics(BaseModel):
    """One entry of lm-eval's ``results``/``groups``: fixed keys plus ``<metric>,<filter>`` numbers.

    The metric keys are dynamic (lm-eval's own schema types them as ``extra_items``), so they are allowed
    only in that shape and only with number values; any other key is an error.
    """

    model_config = ConfigDict(extra="allow", strict=True, frozen=True)
    __pydantic_extra__: dict[str, MetricValue] = Field(init=False)

    name: str | None = None
    alias: str | None = None
    sample_len: int | None = None
    sample_count: dict[str, int] | None = None

    @model_validator(mode="after")
    def _metric_keys(self) -> TaskMetrics:
        for key in self.__pydantic_extra__ or {}:
            if "," not in key:
                raise ValueError(f"unknown key {key!r} (expected <metric>,<filter> such as 'acc,none')")
        return self


class SampleCount(_Strict):
    original: int
    effective: int


class EvalConfig(BaseModel):
    """lm-eval's ``config`` (its run settings); sosbench reads only ``model_args`` from it."""

    model_config = ConfigDict(extra="allow", strict=True, frozen=True)
    model_args: str | dict[str, JsonValue] | None = None


class LmEvalResults(_Strict):
    """An lm-eval results JSON (``results.json`` of a run folder or lm-eval's ``results_<time>.json``).

    The keys are those of lm-eval's ``EvalResults`` (0.4.x, ``lm_eval/result_schema.py``) plus the
    timing keys older 0.4 releases wrote; the sections sosbench reads are typed, the rest are any JSON.
    """

    results: dict[str, TaskMetrics]
    groups: dict[str, TaskMetrics] | None = None
    group_subtasks: dict[str, list[str]] | None = None
    n_samples: dict[str, SampleCount] | None = Field(None, alias="n-samples")
    model_name: str | None = None
    config: EvalConfig | None = None
    configs: JsonValue = None
    versions: JsonValue = None
    n_shot: JsonValue = Field(None, alias="n-shot")
    higher_is_better: JsonValue = None
    samples: JsonValue = None
    git_hash: JsonValue = None
    date: JsonValue = None
    pretty_env_info: JsonValue = None
    transformers_version: JsonValue = None
    lm_eval_version: JsonValue = None
    upper_git_hash: JsonValue = None
    tokenizer_pad_token: JsonValue = None
    tokenizer_eos_token: JsonValue = None
    tokenizer_bos_token: JsonValue = None
    eot_token_id: JsonValue = None
    max_length: JsonValue = None
    model_source: JsonValue = None
    model_name_sanitized: JsonValue = None
    system_instruction: JsonValue = None
    system_instruction_sha: JsonValue = None
    fewshot_as_multiturn: JsonValue = None
    chat_template: JsonValue = None
    chat_template_sha: JsonValue = None
    task_hashes: JsonValue = None
    start_time: JsonValue = None
    end_time: JsonValue = None
    total_evaluation_time_seconds: JsonValue = None


# ---------------------------------------------------------------------------------- scoring.yaml

Choices = int | None


class ScoringConstants(_Strict):
    """``data/scoring/scoring.yaml``: answer choices per benchmark (or subtask), LiveBench question counts."""

    version: Literal[1]
    answer_choices: dict[str, Choices | dict[str, Choices]]
    livebench_task_questions: dict[str, PositiveInt]

    @model_validator(mode="after")
    def _at_least_two_choices(self) -> ScoringConstants:
        for bench, spec in self.answer_choices.items():
            for task, n in spec.items() if isinstance(spec, dict) else [(bench, spec)]:
                if n is not None and n < 2:
                    raise ValueError(
                        f"answer_choices {task!r} is {n}: a chance level needs 2 or more choices"
                    )
        return self


# ---------------------------------------------------------------------------------------- loaders


def parse(model: type[BaseModel], data: Any, where: str, fix: str) -> Any:
    """``model`` validated from ``data`` (already parsed JSON/YAML), or one error line naming ``where``."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise from_validation(exc, where, fix) from None


def read_results(path: Path) -> tuple[dict[str, Any], LmEvalResults]:
    """An lm-eval results JSON: the raw object (for the registry's key lookups) and its validated model."""
    data = read_json_object(path, "lm-eval results JSON")
    if "results" not in data:
        raise SosbenchError(f'{path}: not an lm-eval results JSON (no "results" object)')
    return data, parse(LmEvalResults, data, str(path), "pass lm-eval's results JSON unchanged, or re-run it")


def read_scoring_file(path: Path) -> ScoringConstants:
    """A scoring.yaml (the packaged one or a copy to check)."""
    data = read_yaml(path, "scoring.yaml")
    return parse(ScoringConstants, data, str(path), "fix the file (see docs/scoring.md)")


@functools.cache
def scoring_constants() -> ScoringConstants:
    """The packaged scoring constants, validated once per process."""
    return read_scoring_file(Path(str(files("sosbench").joinpath(SCORING_FILE))))


# ----------------------------------------------------------------------------------- value checks


def check_score(value: float, where: str, what: str) -> float:
    """A score scoring averages: finite and in [0, 1] (an lm-eval accuracy, a LiveBench score / 100)."""
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise SosbenchError(f"{where}: {what} is {value!r}, not a score in [0, 1]: is this file intact?")
    return value


def check_stderr(value: float | None, where: str, what: str) -> float | None:
    if value is not None and (not math.isfinite(value) or value < 0.0):
        raise SosbenchError(f"{where}: {what} is {value!r}, not a standard error (finite, 0 or more)")
    return value
