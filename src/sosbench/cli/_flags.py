"""Boolean options as real flags, and option help that is never cut, in every command (also those
registered by other modules).

typer shows a flag with a ``<bool>`` type as if it took a value, and a user who then writes
``--allow-partial true`` gets ``true`` read as the next argument (a path). Flags are shown without a type,
and a flag followed by a boolean word is refused with one line saying how to write it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from typer.core import TyperGroup, TyperOption

try:  # typer >= 0.20 ships its own copy of click
    from typer._click.exceptions import UsageError
except ImportError:  # pragma: no cover - older typer uses click itself
    from click.exceptions import UsageError  # type: ignore[no-redef, assignment, unused-ignore]

BOOLEAN_WORDS = frozenset({"true", "false", "yes", "no", "on", "off", "1", "0"})


def commands(root: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """``(command path, command)`` of every command and group under ``root`` (``root`` first)."""
    yield path, root
    if isinstance(root, TyperGroup):
        for name, sub in root.commands.items():
            yield from commands(sub, (*path, name))


def flags(command: Any) -> dict[str, TyperOption]:
    """Every spelling of ``command``'s boolean flags (``--x`` and ``--no-x``) -> the option."""
    out = {}
    for param in command.params:
        if isinstance(param, TyperOption) and param.is_flag and not param.count:
            for name in (*param.opts, *param.secondary_opts):
                out[name] = param
    return out


def prepare(root: Any) -> None:
    """Show every flag without a value type in ``--help``, and every help line whole."""
    _fold_option_help()
    for _, command in commands(root):
        for option in flags(command).values():
            option.metavar = ""


def _fold_option_help() -> None:
    """Wrap an option's help texts in ``--help`` instead of cutting them: at 80 columns typer's option table
    leaves the help about 20 columns, and ended a long environment variable name with an ellipsis
    (``SOSBENCH_EQUIVALEN…``). Folded, the whole name is there to read and copy."""
    from rich.text import Text
    from typer import rich_utils

    original = getattr(rich_utils, "_get_parameter_help", None)
    if original is None or getattr(original, "folds", False):
        return

    def folded(*args: Any, **kwargs: Any) -> Any:
        columns = original(*args, **kwargs)
        for item in getattr(columns, "renderables", ()):
            if isinstance(item, Text):
                item.overflow = "fold"
        return columns

    folded.folds = True  # type: ignore[attr-defined]
    rich_utils._get_parameter_help = folded
    for name in ("highlighter", "negative_highlighter"):  # the option names' columns, likewise
        setattr(rich_utils, name, _Folding(getattr(rich_utils, name)))


class _Folding:
    """A typer highlighter whose texts fold rather than end in an ellipsis."""

    def __init__(self, highlighter: Any) -> None:
        self.highlighter = highlighter

    def __call__(self, text: Any) -> Any:
        out = self.highlighter(text)
        out.overflow = "fold"
        return out


def refuse_flag_values(root: Any, argv: Sequence[str]) -> None:
    """``--flag true`` is a usage error naming the right spelling (a flag takes no value)."""
    command, path = root, ["sosbench"]
    for i, token in enumerate(argv):
        if token == "--":
            return
        if isinstance(command, TyperGroup) and token in command.commands:
            command = command.commands[token]
            path.append(token)
            continue
        option = flags(command).get(token)
        following = argv[i + 1].lower() if i + 1 < len(argv) else ""
        if option is not None and following in BOOLEAN_WORDS:
            spellings = " or ".join(
                f"`{o}`" for o in (*option.opts, *option.secondary_opts) if o.startswith("--")
            )
            error = UsageError(
                f"{token} is a flag and takes no value: write {spellings}, without `{argv[i + 1]}`"
            )
            error.command_path = " ".join(path)  # type: ignore[attr-defined]
            raise error
