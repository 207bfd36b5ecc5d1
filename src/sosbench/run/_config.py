"""The frozen specification of one `sosbench run` and the hash that guards its output folder."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sosbench.errors import SosbenchError
from sosbench.suite import PROTOCOLS

# Fields that change what a run computes. Batch size, device and paths do not, so a run may be
# resumed with a different batch size or on another machine.
HASHED_FIELDS = ("model", "model_args", "protocol", "limit", "apply_chat_template", "gen_kwargs")


@dataclass(frozen=True)
class RunConfig:
    """Everything `sosbench run` was asked to do."""

    model: str
    model_args: dict[str, Any]
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
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise SosbenchError(f"unknown --protocol {self.protocol!r}: use one of {', '.join(PROTOCOLS)}")
        if self.sandbox not in ("bwrap", "none"):
            raise SosbenchError(f"unknown --sandbox {self.sandbox!r}: use bwrap or none")

    def hashed(self) -> dict[str, Any]:
        """The part of the config that determines results."""
        data = asdict(self)
        return {k: data[k] for k in HASHED_FIELDS}

    def config_hash(self, lm_eval_version: str) -> str:
        payload = json.dumps({**self.hashed(), "lm_eval": lm_eval_version}, sort_keys=True, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def display_name(self) -> str:
        """A readable model name for tables: --model-name, else the last part of the model path."""
        if self.model_name:
            return self.model_name
        for key in ("pretrained", "model", "model_name", "path"):
            if key in self.model_args:
                return str(self.model_args[key]).rstrip("/").split("/")[-1]
        return self.model


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
                raise SosbenchError(f"--model-args: {part!r} is not key=value (e.g. pretrained=gpt2,dtype=float32)")
            args[key.strip()] = _scalar(value.strip())
    for item in model_arg or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise SosbenchError(f"--model-arg: {item!r} is not key=value")
        if key.strip() in args:
            raise SosbenchError(f"model argument {key.strip()!r} is given twice: keep one")
        args[key.strip()] = yaml.safe_load(value) if value else ""
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


# Keys a model spec in a `--models` file may set; everything else comes from the command line.
MODEL_SPEC_KEYS = ("model", "model_args", "model_name", "batch_size", "device", "apply_chat_template", "gen_kwargs")


def load_model_specs(path: Path) -> list[dict[str, Any]]:
    """A `--models` file: a YAML or JSON list of {model, model_args, model_name, ...} mappings.

    ``model_args`` may be a mapping or lm-eval's ``k=v,...`` string. Each model's run folder is
    named after its display name, so two specs with the same name are refused.
    """
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))  # YAML is a superset of JSON
    except OSError as exc:
        raise SosbenchError(f"--models: cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise SosbenchError(f"--models: {path} is not valid YAML or JSON ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, list) or not data:
        raise SosbenchError(f"--models: {path} must hold a non-empty list of model specs")
    specs: list[dict[str, Any]] = []
    for index, entry in enumerate(data):
        where = f"--models: {path} entry {index + 1}"
        if not isinstance(entry, dict) or "model" not in entry:
            raise SosbenchError(f"{where}: expected a mapping with at least `model` (e.g. model: hf)")
        unknown = sorted(set(entry) - set(MODEL_SPEC_KEYS))
        if unknown:
            raise SosbenchError(f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(MODEL_SPEC_KEYS)})")
        args = entry.get("model_args") or {}
        spec = {**entry, "model_args": parse_model_args(args) if isinstance(args, str) else dict(args)}
        specs.append(spec)
    return specs
