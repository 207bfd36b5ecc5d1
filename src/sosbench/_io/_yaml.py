"""YAML read safely: PyYAML's safe loader, bounded in depth and in what aliases may expand to."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from sosbench._io._read import MAX_DEPTH, MAX_YAML_ALIAS_NODES, MAX_YAML_BYTES, read_text
from sosbench.errors import SosbenchError


def load_yaml(text: str, where: str) -> Any:
    """``yaml.safe_load`` within :data:`MAX_DEPTH` and :data:`MAX_YAML_ALIAS_NODES`.

    Bad YAML raises ``yaml.YAMLError`` as ``safe_load`` does (for callers with their own message); a
    document over a limit is one ``SosbenchError`` line naming ``where``.
    """
    loader = _bounded_loader()(text)
    try:
        return loader.get_single_data()
    except _YamlRefused as exc:
        raise SosbenchError(f"{where}: {exc}") from None
    except RecursionError:
        raise SosbenchError(
            f"{where}: nested deeper than {MAX_DEPTH} levels: is this the right file?"
        ) from None
    finally:
        loader.dispose()


def read_yaml(path: Path, what: str = "YAML file") -> Any:
    """A YAML (or JSON) file parsed safely within the limits above; bad YAML is one line with its line."""
    import yaml

    try:
        return load_yaml(read_text(path, what, MAX_YAML_BYTES), str(path))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise SosbenchError(f"{path}{line}: not valid YAML ({problem}); fix the file") from None


class _YamlRefused(Exception):
    """A YAML document over a limit (depth, alias expansion) or with an alias cycle."""


@functools.cache
def _bounded_loader() -> type:
    """PyYAML's pure-Python safe loader (libyaml's composer recurses in C, unguarded) that stops scanning
    at :data:`MAX_DEPTH` nested collections (flow brackets or block indentation: the scanner's work per
    token grows with the depth) and checks the composed node graph before building any value: its depth,
    its expanded size, and alias cycles."""
    import yaml

    class BoundedLoader(yaml.SafeLoader):
        def fetch_flow_collection_start(self, TokenClass: Any) -> None:
            if self.flow_level >= MAX_DEPTH:
                raise _YamlRefused(f"nested deeper than {MAX_DEPTH} levels: is this the right file?")
            super().fetch_flow_collection_start(TokenClass)

        def add_indent(self, column: int) -> bool:
            if len(self.indents) >= MAX_DEPTH:
                raise _YamlRefused(f"nested deeper than {MAX_DEPTH} levels: is this the right file?")
            return bool(super().add_indent(column))

        def construct_document(self, node: Any) -> Any:
            _check_yaml_graph(node)
            return super().construct_document(node)

    return BoundedLoader


def _check_yaml_graph(root: Any) -> None:
    """Depth and expanded size of a composed YAML document, computed once per node (aliases share nodes)."""
    import yaml

    def children(node: Any) -> list[Any]:
        if isinstance(node, yaml.SequenceNode):
            return list(node.value)
        if isinstance(node, yaml.MappingNode):
            return [part for pair in node.value for part in pair]
        return []

    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    stack: list[tuple[Any, bool]] = [(root, False)]
    open_nodes: set[int] = set()
    while stack:
        node, closing = stack.pop()
        key = id(node)
        if closing:
            kids = children(node)
            size[key] = 1 + sum(size[id(k)] for k in kids)
            depth[key] = 1 + max((depth[id(k)] for k in kids), default=0)
            open_nodes.discard(key)
            if depth[key] > MAX_DEPTH:
                raise _YamlRefused(f"nested deeper than {MAX_DEPTH} levels: is this the right file?")
            continue
        if key in size:
            continue
        open_nodes.add(key)
        stack.append((node, True))
        for kid in children(node):
            if id(kid) in open_nodes:
                raise _YamlRefused(
                    "an alias refers to a node that contains it: sosbench reads no recursive YAML"
                )
            if id(kid) not in size:
                stack.append((kid, False))
    if size[id(root)] - len(size) > MAX_YAML_ALIAS_NODES:
        raise _YamlRefused(
            f"aliases expand it to {size[id(root)]:,} nodes from {len(size):,} "
            f"(more than {MAX_YAML_ALIAS_NODES:,} added): is it an alias bomb?"
        )
