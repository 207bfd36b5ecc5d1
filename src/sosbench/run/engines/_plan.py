"""Which tokens to run once: a prefix tree over the scoring windows of loglikelihood requests.

Why hand-written: lm-eval's ``Collator`` only shares logits between requests whose whole input is
identical (one-token continuations); no maintained library plans shared-prefix forward passes for
arbitrary request sets on a plain Hugging Face model. The plan is pure Python (no torch) so it is
cheap to test.

A request's scoring window is what lm-eval's ``hf`` model feeds the network:
``(context + continuation)[-(max_length + 1):][:-1]``; its last ``len(continuation)`` logits
score the continuation. The window splits into a *prefix* (everything before those positions)
and a *suffix* (the last context token plus the continuation without its last token). Prefixes
go into a compressed token trie: every branch point whose shared segment is long enough becomes
a :class:`Segment` that runs once and whose keys and values are reused by everything below it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

Tokens = tuple[int, ...]


@dataclass(frozen=True)
class Target:
    """One request scored from a :class:`Leaf`: its index in the request list and its continuation."""

    request: int
    continuation: Tokens


@dataclass(frozen=True)
class Leaf:
    """A row whose last ``n_scored`` logits score every target (requests with identical windows)."""

    tokens: Tokens
    n_scored: int
    targets: tuple[Target, ...]

    def extended(self, head: Tokens) -> Leaf:
        return Leaf(head + self.tokens, self.n_scored, self.targets)


@dataclass(frozen=True)
class Segment:
    """Shared tokens that run once; ``children`` continue from their keys and values."""

    tokens: Tokens
    children: tuple[Segment | Leaf, ...]

    def extended(self, head: Tokens) -> Segment:
        return Segment(head + self.tokens, self.children)


Item = Segment | Leaf


@dataclass(frozen=True)
class Window:
    """What lm-eval's ``hf`` model would run for one request, split at the scored positions."""

    prefix: Tokens
    suffix: Tokens
    continuation: Tokens


def scoring_window(context: Sequence[int], continuation: Sequence[int], max_length: int) -> Window:
    """The ``hf`` model's input window for one request (left-truncated to ``max_length``)."""
    window = (list(context) + list(continuation))[-(max_length + 1) :][:-1]
    split = len(window) - len(continuation)
    return Window(tuple(window[:split]), tuple(window[split:]), tuple(continuation))


@dataclass
class _TrieNode:
    end: int  # number of tokens from the root to the end of this node
    path: Tokens  # a full prefix that passes through this node (its first `end` tokens are the path)
    children: list[_TrieNode] = field(default_factory=list)
    leaves: list[Leaf] = field(default_factory=list)


def _common_length(a: Tokens, b: Tokens) -> int:
    limit = min(len(a), len(b))
    for i in range(limit):
        if a[i] != b[i]:
            return i
    return limit


def _build_trie(leaves_by_prefix: dict[Tokens, list[Leaf]]) -> _TrieNode:
    """Compressed trie of the distinct prefixes, built from their sorted order and common lengths."""
    root = _TrieNode(end=0, path=())
    stack = [root]
    previous: Tokens = ()
    for prefix in sorted(leaves_by_prefix):
        shared = _common_length(previous, prefix)
        popped: _TrieNode | None = None
        while stack[-1].end > shared:
            popped = stack.pop()
        if stack[-1].end < shared and popped is not None:
            # The new prefix leaves the previous path in the middle of `popped`: split it there.
            middle = _TrieNode(end=shared, path=popped.path, children=[popped])
            parent = stack[-1]
            parent.children[parent.children.index(popped)] = middle
            stack.append(middle)
        if len(prefix) > stack[-1].end:
            node = _TrieNode(end=len(prefix), path=prefix)
            stack[-1].children.append(node)
            stack.append(node)
        stack[-1].leaves.extend(leaves_by_prefix[prefix])
        previous = prefix
    return root


def _shape(node: _TrieNode, start: int, min_shared: int) -> list[Item]:
    """Turn a trie node into plan items; short or unshared segments fold into what follows them."""
    below: list[Item] = list(node.leaves)
    for child in node.children:
        below.extend(_shape(child, node.end, min_shared))
    head = node.path[start : node.end]
    if not head:
        return below
    if len(below) == 1 or len(head) < min_shared:
        return [item.extended(head) for item in below]
    return [Segment(head, tuple(below))]


def plan(windows: Sequence[Window], min_shared: int) -> list[Item]:
    """Top-level plan items for the windows; every window index appears in exactly one Target.

    Requests with the same prefix and suffix share one row (their windows are identical, only the
    scored tokens differ). A shared segment shorter than ``min_shared`` tokens is copied into each
    of its children instead of running on its own: below that, an extra pass and a cache copy
    cost more than the tokens saved.
    """
    rows: dict[Tokens, dict[Tokens, list[Target]]] = defaultdict(lambda: defaultdict(list))
    for index, window in enumerate(windows):
        rows[window.prefix][window.suffix].append(Target(index, window.continuation))
    leaves_by_prefix = {
        prefix: [Leaf(suffix, len(suffix), tuple(targets)) for suffix, targets in by_suffix.items()]
        for prefix, by_suffix in rows.items()
    }
    return _shape(_build_trie(leaves_by_prefix), 0, max(1, min_shared))


def planned_tokens(items: Sequence[Item]) -> int:
    """Tokens the plan runs through the model, padding excluded (for tests and reports)."""
    total = 0
    for item in items:
        total += len(item.tokens)
        if isinstance(item, Segment):
            total += planned_tokens(item.children)
    return total
