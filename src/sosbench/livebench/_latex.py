r"""Boxed-answer extraction and Minerva answer normalisation, as LiveBench's 2024 math scorers did them.

Why not lm-eval's ``minerva_math.utils``: lm-eval 0.4.13 has since fixed the ``\sqrt[n]`` mangling and
the unit stripping inside LaTeX commands (``\left`` losing ``ft``), so its output differs from what
LiveBench scored with in 2024. The paper protocol needs the original rules, defects included; the
corrected protocol keeps indexed roots intact.
"""

from __future__ import annotations

import re

_SUBSTITUTIONS = (
    ("an ", ""),
    ("a ", ""),
    (".$", "$"),
    ("\\$", ""),
    (r"\ ", ""),
    (" ", ""),
    ("mbox", "text"),
    (",\\text{and}", ","),
    ("\\text{and}", ","),
    ("\\text{m}", "\\text{}"),
)
_REMOVED_EXPRESSIONS = (
    "square", "ways", "integers", "dollars", "mph", "inches", "ft", "hours", "km", "units", "\\ldots",
    "sue", "points", "feet", "minutes", "digits", "cents", "degrees", "cm", "gm", "pounds", "meters",
    "meals", "edges", "students", "childrentickets", "multiples", "\\text{s}", "\\text{.}", "\\text{\ns}",
    "\\text{}^2", "\\text{}^3", "\\text{\n}", "\\text{}", r"\mathrm{th}", r"^\circ", r"^{\circ}", r"\;",
    r",\!", "{,}", '"', "\\dots",
)  # fmt: skip


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
    r"""Lewkowycz et al. (2022) appendix-D normalisation, as in LiveBench 2024.

    With ``keep_indexed_roots`` (corrected protocol) ``\sqrt[n]{x}`` is left intact instead of
    being rewritten into the unparsable ``\sqrt{[}n]{x}``.
    """
    answer = answer.split("=")[-1]
    for before, after in _SUBSTITUTIONS:
        answer = answer.replace(before, after)
    for expression in _REMOVED_EXPRESSIONS:
        answer = answer.replace(expression, "")
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
