"""Style-control covariates as in Arena-Hard-Auto v2: answer length and markdown density.

Per answer: a token count and the counts of markdown headers, list items and bold spans (code blocks
removed first). Per battle (model vs baseline):

* length: (len_model - len_base) / (len_model + len_base)
* for headers, lists and bold: density d = count / tokens, feature (d_model - d_base) / (d_model + d_base + 1)

Each feature column is then standardised (mean 0, sample sd 1) over the battles, and the features enter the
Bradley-Terry fit as extra columns. A model's style-controlled score is its win rate against the baseline
with the features at 0.

Deviation: Arena-Hard-Auto counts tokens with tiktoken's gpt-4o vocabulary, which is downloaded on first
use and so is not available offline; here a token is a word or a punctuation mark (``\\w+|[^\\w\\s]``).
Only ratios of lengths enter the features, and the two counts are close to proportional.
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np

FEATURES: tuple[str, ...] = ("length", "header_density", "list_density", "bold_density")

_CODE_BLOCK = re.compile(r"```[^`]*```")
_TOKEN = re.compile(r"\w+|[^\w\s]")
_HEADER = re.compile(r"^#{1,6}\s", re.MULTILINE)
_LIST = re.compile(r"^\s*(?:\d+\.|[-*+])\s", re.MULTILINE)
_BOLD = re.compile(r"\*\*[^*\n]+\*\*|__[^_\n]+__")


@lru_cache(maxsize=100_000)
def style_counts(text: str) -> tuple[int, int, int, int]:
    """(tokens, headers, list items, bold spans) of one answer."""
    prose = _CODE_BLOCK.sub("", text)
    return (
        len(_TOKEN.findall(text)),
        len(_HEADER.findall(prose)),
        len(_LIST.findall(prose)),
        len(_BOLD.findall(prose)),
    )


def battle_features(model_texts: list[str], baseline_texts: list[str]) -> np.ndarray:
    """Standardised (n, 4) style differences, model minus baseline, one row per battle."""
    model = np.array([style_counts(t) for t in model_texts], dtype=float).reshape(-1, 4)
    base = np.array([style_counts(t) for t in baseline_texts], dtype=float).reshape(-1, 4)
    features = np.zeros_like(model)
    total = model[:, 0] + base[:, 0]
    features[:, 0] = np.divide(model[:, 0] - base[:, 0], total, out=np.zeros_like(total), where=total > 0)
    density_model = model[:, 1:] / np.maximum(model[:, :1], 1.0)
    density_base = base[:, 1:] / np.maximum(base[:, :1], 1.0)
    features[:, 1:] = (density_model - density_base) / (density_model + density_base + 1.0)
    spread = features.std(axis=0, ddof=1) if len(features) > 1 else np.ones(4)
    spread = np.where(spread > 0, spread, 1.0)
    return (features - features.mean(axis=0)) / spread
