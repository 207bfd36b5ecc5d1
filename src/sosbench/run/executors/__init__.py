"""Executors: where a run's units execute (this process, Ray actors, Slurm job arrays, or a plugin's).

``executors()`` is the one registry of them, by ``--executor`` name; ``build`` makes the chosen one with
its own options. Adding an executor is a class (``name``, ``Options``, ``from_options``, ``check``, ``run``,
using ``RetryPolicy``) and one registration, here or through a ``sosbench.executors`` entry point naming the
class (docs/scale.md). Ray and submitit are imported only when their executor runs, so both stay optional.
"""

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from sosbench._registry import Registry, load_entry_points, suggest
from sosbench.errors import SosbenchError, from_validation
from sosbench.run._config import parse_yaml_items
from sosbench.run.executors._base import (
    INPUT_ERROR,
    Events,
    Executor,
    ExecutorContext,
    ExecutorOptions,
    ExecutorType,
    Failure,
    RetryPolicy,
)
from sosbench.run.executors._local import LocalExecutor
from sosbench.run.executors._ray import RayExecutor, RayOptions
from sosbench.run.executors._slurm import SlurmExecutor, SlurmOptions

ENTRY_POINT_GROUP = "sosbench.executors"


@functools.cache
def executors() -> Registry[ExecutorType]:
    """Name -> executor class: local, ray and slurm, then plugins' (``sosbench.executors`` entry points)."""
    registry: Registry[ExecutorType] = Registry("executor")
    registry.register("local", LocalExecutor)
    registry.register("ray", RayExecutor)
    registry.register("slurm", SlurmExecutor)
    load_entry_points(registry, ENTRY_POINT_GROUP)
    registry.hint = f"use one of {', '.join(registry.names())}"
    return registry


def build(
    name: str,
    context: ExecutorContext,
    flags: Mapping[str, Any] | None = None,
    options: Mapping[str, Any] | None = None,
) -> Executor:
    """The executor ``name`` for a run, with its own options.

    ``flags`` are the values of sosbench's named option flags (``--ray-address`` as ``ray_address``; None
    for a flag not given): each executor takes those it declares and leaves the others' alone. ``options``
    (``--executor-option NAME=VALUE``) must all be its own: an unknown name is one error line.
    """
    kind = executors().get(name)
    declared = kind.Options.model_fields
    for key in options or {}:
        if key not in declared:
            close = suggest(key, list(declared))
            hint = f"did you mean {close[0]}?" if close else f"its options: {', '.join(declared) or 'none'}"
            raise SosbenchError(f"--executor-option {key}: executor {name!r} has no such option; {hint}")
    given = {k: v for k, v in (flags or {}).items() if k in declared and v is not None}
    try:
        parsed = kind.Options.model_validate({**given, **(options or {})})
    except ValidationError as exc:
        raise from_validation(exc, f"--executor {name} options", "see `sosbench run --help`") from None
    return kind.from_options(context, parsed)


def parse_options(items: Sequence[str]) -> dict[str, Any]:
    """``--executor-option NAME=VALUE`` items as a mapping, each value read as YAML (``2``, ``true``,
    ``{accelerator_type:H100: 0.001}``)."""
    return parse_yaml_items(items, "--executor-option")


__all__ = [
    "ENTRY_POINT_GROUP",
    "INPUT_ERROR",
    "Events",
    "Executor",
    "ExecutorContext",
    "ExecutorOptions",
    "ExecutorType",
    "Failure",
    "LocalExecutor",
    "RayExecutor",
    "RayOptions",
    "RetryPolicy",
    "SlurmExecutor",
    "SlurmOptions",
    "build",
    "executors",
    "parse_options",
]
