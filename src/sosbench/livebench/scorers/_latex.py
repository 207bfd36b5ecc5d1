r"""Boxed-answer extraction and answer normalisation, as LiveBench's 2024 math scorers did them.

Why not lm-eval's ``minerva_math.utils``: LiveBench used only the unwrapping half of the Minerva
normalisation (no substitution or unit-removal lists), and lm-eval 0.4.13 has since changed its copy
(e.g. it no longer mangles ``\sqrt[n]``). The paper protocol needs LiveBench's 2024 rules, defects
included; the corrected protocol keeps indexed roots intact.
"""

from __future__ import annotations

import re


def last_boxed(text: str) -> str | None:
    r"""The last ``\boxed{...}`` (or ``\fbox{...}``) group with ``$`` removed, or the ``\boxed `` form."""
    if "\\boxed " in text:
        return "\\boxed " + text.split("\\boxed ")[-1].split("$")[0]
    start = text.rfind("\\boxed")
    if start < 0:
        start = text.rfind("\\fbox")
        if start < 0:
            return None
    depth = 0
    for end in range(start, len(text)):
        if text[end] == "{":
            depth += 1
        elif text[end] == "}":
            depth -= 1
            if depth == 0:
                return text[start : end + 1].replace("$", "").replace("\\fbox", "\\boxed", 1)
    return None


def unbox(boxed: str) -> str | None:
    r"""The content of ``\boxed{...}`` / ``\boxed ...``; None if the string has neither shape."""
    if "\\boxed " in boxed:
        return boxed[len("\\boxed ") :] if boxed.startswith("\\boxed ") else None
    if boxed.startswith("\\boxed{") and boxed.endswith("}"):
        return boxed[len("\\boxed{") : -1]
    return None


def normalize_final_answer(answer: str, *, keep_indexed_roots: bool = False) -> str:
    r"""The answer-extraction half of Lewkowycz et al. (2022) normalisation, as LiveBench 2024 used it.

    LiveBench kept only the unwrapping and shorthand rules, not the unit/word removal lists.

    With ``keep_indexed_roots`` (corrected protocol) ``\sqrt[n]{x}`` is left intact instead of
    being rewritten into the unparsable ``\sqrt{[}n]{x}``.
    """
    answer = answer.split("=")[-1]
    answer = re.sub(r"(.*?)(\$)(.*?)(\$)(.*)", "$\\3$", answer)
    answer = re.sub(r"(\\text\{)(.*?)(\})", "\\2", answer)
    answer = re.sub(r"(\\textbf\{)(.*?)(\})", "\\2", answer)
    answer = re.sub(r"(\\overline\{)(.*?)(\})", "\\2", answer)
    answer = re.sub(r"(\\boxed\{)(.*)(\})", "\\2", answer)
    answer = re.sub(r"(frac)([^{])(.)", "frac{\\2}{\\3}", answer)
    if keep_indexed_roots:
        answer = re.sub(r"(sqrt)(?![{\[])(.)", "sqrt{\\2}", answer)
    else:
        answer = re.sub(r"(sqrt)([^{])", "sqrt{\\2}", answer)
    answer = answer.replace("$", "")
    if answer.replace(",", "").isdigit():
        answer = answer.replace(",", "")
    return answer
