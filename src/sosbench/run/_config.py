"""The frozen specification of one `sosbench run` and the hash that guards its output folder."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import ErrorDetails

from sosbench._io import MAX_YAML_BYTES, load_yaml, model_name_from_args, read_text, safe_file_name
from sosbench.errors import SosbenchError
from sosbench.sandbox import SandboxLimits, SandboxMode
from sosbench.suite import PROTOCOLS

# Fields that change what a run computes. Batch size, device and paths do not, so a run may be
# resumed with a different batch size or on another machine.
HASHED_FIELDS = ("model", "model_args", "protocol", "limit", "apply_chat_template", "gen_kwargs")


def freeze(value: Any) -> Any:
    """A read-only copy: mappings become ``MappingProxyType`` and lists tuples, all the way down."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """The plain JSON-shaped copy of a frozen value (dicts and lists), for hashing, manifests and lm-eval."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [thaw(v) for v in value]
    return value


@dataclass(frozen=True)
class RunConfig:
    """Everything `sosbench run` was asked to do; read-only, ``model_args`` included (it is hashed)."""

    model: str
    model_args: Mapping[str, Any]
    benchmarks: tuple[str, ...]
    output: Path
    protocol: str = "paper"
    limit: int | float | None = None
    batch_size: str = "auto"
    device: str | None = None
    apply_chat_template: bool | str = False
    gen_kwargs: str | None = None
    data_dir: Path | None = None
    wandb_args: str | None = None
    model_name: str | None = None
    sandbox: str = "bwrap"
    """Where LiveBench coding answers run: bwrap, or none (unsafe; flagged in the manifest and scores)."""
    sandbox_memory: int = 0
    """Memory of each coding sandbox in bytes (0: the default, 2 GiB)."""
    sandbox_processes: int = 0
    """Processes each coding sandbox may run at once (0: the default of its budget)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "model_args", freeze(self.model_args))
        if self.protocol not in PROTOCOLS:
            raise SosbenchError(f"unknown --protocol {self.protocol!r}: use one of {', '.join(PROTOCOLS)}")
        SandboxMode.of(self.sandbox)
        check_limit(self.limit)
        self.sandbox_limits()

    def sandbox_limits(self) -> SandboxLimits:
        """The budget of each sandbox that runs a LiveBench coding answer."""
        return SandboxLimits(memory_bytes=self.sandbox_memory, processes=self.sandbox_processes)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle (for Ray and process workers) as plain values: a ``MappingProxyType`` does not pickle."""
        values = (getattr(self, f.name) for f in fields(self))
        return (type(self), tuple(thaw(v) if isinstance(v, Mapping) else v for v in values))

    def hashed(self) -> dict[str, Any]:
        """The part of the config that determines results, as plain JSON-shaped values."""
        return {k: thaw(getattr(self, k)) for k in HASHED_FIELDS}

    def plain_model_args(self) -> dict[str, Any]:
        """A mutable copy of ``model_args`` for the model loader and the manifest."""
        return thaw(self.model_args)

    def config_hash(self, lm_eval_version: str) -> str:
        payload = json.dumps({**self.hashed(), "lm_eval": lm_eval_version}, sort_keys=True, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def display_name(self) -> str:
        """A readable model name for tables: --model-name, else the last part of the model path."""
        return self.model_name or model_name_from_args(self.model_args) or self.model


def check_limit(limit: float | None) -> int | float | None:
    """Refuse a ``--limit`` lm-eval would reject only after the model loaded: a count is a whole number of 1
    or more, a fraction lies in (0, 1). Returns it as every command reads it: a count as an int."""
    if limit is None:
        return None
    if (
        isinstance(limit, bool)
        or not math.isfinite(limit)
        or limit <= 0
        or (limit > 1 and limit != int(limit))
    ):
        raise SosbenchError(
            f"--limit {limit:g} is neither a number of items (1, 2, ...) nor a fraction between 0 and 1"
        )
    return int(limit) if limit >= 1 else limit


def parse_model_args(model_args: str | None, model_arg: list[str] | None = None) -> dict[str, Any]:
    """lm-eval's ``k=v,k2=v2`` string plus repeated structured ``--model-arg k=v`` (YAML values).

    The structured form exists because values with commas (lists, chat templates) cannot survive
    the comma-split string; a key given both ways is an error rather than a silent override.
    """
    args: dict[str, Any] = {}
    if model_args:
        for part in model_args.split(","):
            if not part.strip():
                continue
            key, sep, value = part.partition("=")
            if not sep or not key.strip():
                raise SosbenchError(
                    f"--model-args: {part!r} is not key=value (e.g. pretrained=gpt2,dtype=float32)"
                )
            args[key.strip()] = _scalar(value.strip())
    return parse_yaml_items(model_arg or [], "--model-arg", into=args)


def parse_yaml_items(items: Sequence[str], option: str, into: dict[str, Any] | None = None) -> dict[str, Any]:
    """Repeated ``option KEY=VALUE`` items (``--model-arg``, ``--executor-option``) as a mapping, each value
    read as YAML within the input bounds; ``into`` holds keys already given another way (a repeat is an
    error, not an override)."""
    args = {} if into is None else into
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise SosbenchError(f"{option}: {item!r} is not key=value")
        if key in args:
            raise SosbenchError(f"{option}: {key!r} is given twice: keep one")
        try:
            args[key] = load_yaml(value, f"{option} {key}") if value else ""
        except yaml.YAMLError as exc:
            first = (str(exc).strip().splitlines() or ["invalid"])[0]
            raise SosbenchError(f"{option} {key}: not a YAML value ({first}); quote it") from None
    return args


def _scalar(value: str) -> Any:
    """lm-eval's own conversion of ``k=v`` values (bools, numbers, else strings)."""
    lowered = value.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return value


class ModelSpec(BaseModel):
    """One entry of a `--models` file: the model and the settings that may differ between models.

    Everything else (benchmarks, protocol, limit, data dir, ...) comes from the command line. Strict:
    an unknown key, a wrong type or a key set to null is an error, never a silently ignored setting.
    """

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    model: str = Field(min_length=1)
    model_args: dict[str, Any] | str = Field(default_factory=dict)
    """A mapping, or lm-eval's ``k=v,...`` string."""
    model_name: str | None = Field(default=None, min_length=1)
    batch_size: int | str | None = None
    device: str | None = None
    apply_chat_template: bool | str | None = None
    gen_kwargs: str | None = None

    @field_validator("model_name", "batch_size", "device", "apply_chat_template", "gen_kwargs", mode="wrap")
    @classmethod
    def _null_is_a_mistake(cls, value: Any, handler: Any) -> Any:
        """``key: null`` (or an empty ``key:`` in YAML) is refused: omit the key to keep the default."""
        if value is None:
            raise ValueError("is null: give a value or omit the key")
        return handler(value)

    def run_settings(self) -> dict[str, Any]:
        """The RunConfig fields this spec sets (model_args parsed, unset keys left out)."""
        args = (
            parse_model_args(self.model_args) if isinstance(self.model_args, str) else dict(self.model_args)
        )
        settings = self.model_dump(exclude_unset=True)
        settings["model_args"] = args
        if "batch_size" in settings:
            settings["batch_size"] = str(settings["batch_size"])
        return settings


MODEL_SPEC_KEYS = tuple(ModelSpec.model_fields)


def _describe(error: ErrorDetails) -> str:
    """One pydantic error as a phrase: ``field 'x' should be a valid string, not 3``."""
    field_name = str(error["loc"][0]) if error["loc"] else ""
    if error["type"] == "extra_forbidden":
        return f"unknown key {field_name!r} (allowed: {', '.join(MODEL_SPEC_KEYS)})"
    if error["type"] == "missing":
        return f"key {field_name!r} is missing (e.g. model: hf)"
    message = str(error["msg"]).removeprefix("Value error, ")
    if message.startswith("is "):  # our own null check
        return f"field {field_name!r} {message}"
    found = repr(error.get("input"))[:60]
    if message.startswith("Input should be "):
        return f"field {field_name!r} should be {message.removeprefix('Input should be ')}, not {found}"
    return f"field {field_name!r}: {message[:1].lower()}{message[1:]}, not {found}"


def validate_model_specs(data: Any, source: str) -> list[ModelSpec]:
    """Check a parsed model list; every problem is one line naming ``source``, the entry and the field."""
    if not isinstance(data, list) or not data:
        raise SosbenchError(f"{source} must hold a non-empty list of model specs (e.g. - {{model: hf}})")
    specs = []
    for index, entry in enumerate(data, start=1):
        where = f"{source} entry {index}"
        if not isinstance(entry, dict):
            raise SosbenchError(f"{where}: expected a mapping with at least `model` (e.g. model: hf)")
        try:
            specs.append(ModelSpec.model_validate(entry))
        except ValidationError as exc:
            errors = exc.errors()
            first_field = [e for e in errors if e["loc"][:1] == errors[0]["loc"][:1]]
            if len(first_field) > 1 and all(e["type"] != "value_error" for e in first_field):
                # a union (a mapping or a string): name every form it accepts
                forms = " or ".join(
                    dict.fromkeys(str(e["msg"]).removeprefix("Input should be ") for e in first_field)
                )
                name, found = str(errors[0]["loc"][0]), repr(errors[0].get("input"))[:60]
                raise SosbenchError(f"{where}: field {name!r} should be {forms}, not {found}") from None
            raise SosbenchError(f"{where}: {_describe(errors[0])}") from None
    return specs


def load_model_specs(path: Path) -> list[dict[str, Any]]:
    """A `--models` file (a YAML or JSON list of model specs), validated; the RunConfig fields of each entry.

    This is also what `sosbench validate` calls on a model list: any problem (unreadable file, bad YAML,
    unknown key, wrong type, null value, ``../`` or absolute ``model_name``) is one `SosbenchError` line
    naming the file, the entry and the field.
    """
    source = f"--models file {path}"
    text = read_text(path, "model list", MAX_YAML_BYTES)
    try:
        data = load_yaml(text, source)  # YAML is a superset of JSON
    except yaml.YAMLError as exc:
        raise SosbenchError(f"{source} is not valid YAML or JSON ({str(exc).splitlines()[0]})") from None
    settings = []
    for index, spec in enumerate(validate_model_specs(data, source), start=1):
        where = f"{source} entry {index}"
        if spec.model_name is not None:
            check_folder_name(spec.model_name, f"{where}: model_name")
        try:
            settings.append(spec.run_settings())
        except SosbenchError as exc:  # a model_args string that is not k=v,...
            raise SosbenchError(f"{where}: {exc}") from None
    return settings


def check_folder_name(name: str, what: str) -> None:
    """Refuse a model name that would put its run folder outside ``--output`` (absolute, or with ``..``)."""
    if Path(name).is_absolute() or ".." in Path(name).parts:
        raise SosbenchError(
            f"{what} {name!r} would write outside --output: use a plain name such as my-model"
        )


def model_folder(output: Path, name: str) -> Path:
    """``OUTPUT/<name>/`` for a model of a `--models` run: ordinary names as they are, others made safe.

    A name such as ``org/model`` gets a readable, collision-free folder name (``org_model-<hash>``),
    never a nested or escaping path.
    """
    check_folder_name(name, "model name")
    return output / safe_file_name(name)
