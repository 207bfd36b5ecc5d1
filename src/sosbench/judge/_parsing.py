"""Reading verdicts out of a judge's text: the overall ``[[...]]`` label and the ``((...))`` criterion labels.

Two rules for the overall label: v0.1's (:func:`parse_verdict`: every match of the pattern must agree) and
v2.0's (:func:`parse_last_verdict`: the text is upper-cased, the first pattern with a match decides and its
last match wins, as ``get_score`` of Arena-Hard-Auto's v2.0 ``gen_judgment.py`` reads it).

Every verdict is normalised to one of ``A>>B, A>B, A=B, B>A, B>>A``. The multi-criteria template itself
shows ``A<B`` and ``A<<B`` as examples; the reference scorer only knew the five canonical labels and
silently dropped the rest. Here ``A<B`` reads as ``B>A``, ``A<<B`` as ``B>>A`` (and ``B<A``, ``B<<A``,
``B=A`` likewise). A text with no verdict, or with several different verdicts, gives ``None``: it is
counted as unparseable and never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

VERDICTS: tuple[str, ...] = ("A>>B", "A>B", "A=B", "B>A", "B>>A")

_ALIASES = {
    "A>>B": "A>>B",
    "A>B": "A>B",
    "A=B": "A=B",
    "B>A": "B>A",
    "B>>A": "B>>A",
    "A<<B": "B>>A",
    "A<B": "B>A",
    "B=A": "A=B",
    "B<A": "A>B",
    "B<<A": "A>>B",
}


def normalize_verdict(label: object) -> str | None:
    """The canonical form of a verdict label, or None when it is not one."""
    if not isinstance(label, str):
        return None
    return _ALIASES.get(label.strip().replace(" ", ""))


@dataclass(frozen=True)
class ParsedVerdict:
    """The verdict of one judgment text: the label, or None with the reason."""

    label: str | None
    reason: str = ""  # "" when parsed; "missing" (retry-worthy), "invalid" or "conflicting"
    raw: str | None = None  # v2.0: the label as matched (the official judgment files store it as is)

    @property
    def retry(self) -> bool:
        """The reference asks the judge again only when no verdict was found at all."""
        return self.reason == "missing"


def parse_verdict(text: str, pattern: str = r"\[\[([AB<>=]+)\]\]") -> ParsedVerdict:
    """The overall verdict: all matches of ``pattern`` must agree once normalised."""
    return _unique(_compiled(pattern).findall(text or ""))


def parse_last_verdict(text: str, patterns: tuple[str, ...]) -> ParsedVerdict:
    """v2.0's rule: in the upper-cased text, the first pattern with a non-empty match decides; its last match
    is the verdict. A label outside the ten the official scorer maps (``A>>B`` ... ``B<<A``) is invalid."""
    upper = (text or "").upper()
    for pattern in patterns:
        matches = [m for m in _compiled(pattern).findall(upper) if m != ""]
        if matches:
            raw = matches[-1].strip("\n")
            label = normalize_verdict(raw) if raw in _ALIASES else None
            return ParsedVerdict(label, "" if label else "invalid", raw if label else None)
    return ParsedVerdict(None, "missing")


@lru_cache(maxsize=64)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


@lru_cache(maxsize=16)
def _criterion_pattern(criterion: str) -> re.Pattern[str]:
    # The reference regex is `Correctness: \(\(([AB<>=]+)\)\)`. Judges often bold the name
    # ("**Correctness:** ((A>B))"), so markdown emphasis and spaces around the colon are allowed.
    return re.compile(rf"{criterion}[*_ ]*:[*_ ]*\(\(([AB<>= ]+)\)\)", re.IGNORECASE)


def parse_criterion(text: str, criterion: str) -> ParsedVerdict:
    """One criterion's ``((...))`` verdict (e.g. ``Style: ((A>B))``)."""
    return _unique(_criterion_pattern(criterion).findall(text or ""))


def parse_criteria(text: str, criteria: tuple[str, ...]) -> dict[str, str | None]:
    """The verdict of each criterion (None when missing or conflicting)."""
    return {c: parse_criterion(text, c).label for c in criteria}


def _unique(matches: list[str]) -> ParsedVerdict:
    found = [m for m in matches if m.strip()]
    if not found:
        return ParsedVerdict(None, "missing")
    labels = {normalize_verdict(m) for m in found}
    if None in labels:
        return ParsedVerdict(None, "invalid")
    if len(labels) != 1:
        return ParsedVerdict(None, "conflicting")
    return ParsedVerdict(labels.pop())
