"""What the per-item view shows of one lm-eval sample: the last question, its few-shot prefix, the answer and
the gold, in words.

lm-eval logs a multiple-choice item as one log-likelihood request per option (``arguments`` holds the
context and each option's continuation, ``filtered_resps`` each option's log-likelihood) and its gold as an
index or an option's text; a few-shot item's prompt is the examples followed by the question. Shown raw, the
first is ``-8.03`` against ``0`` and the second is two screens of examples above the question. Here the
option the model chose is found the way lm-eval scores it (the highest log-likelihood for ``acc``, per
character of the option for ``acc_norm``), and the prompt is cut before the question, so the examples can be
folded away.
"""

from __future__ import annotations

import re
from typing import Any

# Where a user turn starts in the chat templates lm-eval applies (ChatML, Llama 3, Gemma, Zephyr, Mistral):
# with --fewshot_as_multiturn the last question is the last user turn.
CHAT_TURNS = (
    "<|im_start|>user\n",
    "<|start_header_id|>user<|end_header_id|>\n\n",
    "<start_of_turn>user\n",
    "<|user|>\n",
    "[INST]",
)
# A doc field this short (a label, a category) may occur anywhere in the prompt: it cannot anchor the
# question.
MIN_ANCHOR = 8


def _strings(value: Any) -> list[str]:
    """Every string in a doc (nested lists and dicts included)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def fold_prompt(prompt: str, doc: Any, shots: int | None, delimiter: str = "\n\n") -> tuple[str, str]:
    """(prefix, question): the prompt cut before its last question, or ("", prompt) where it has no prefix.

    The last question is found by the longest field of the item's own doc that the prompt contains (its
    last occurrence: the examples come first), and it starts after the last few-shot delimiter (or chat
    user turn) before that field. ``shots`` is the task's num_fewshot: 0 means there is nothing to fold,
    None (not recorded) tries anyway.
    """
    if shots == 0 or not prompt:
        return "", prompt
    anchors = [s for s in _strings(doc) if len(s.strip()) >= MIN_ANCHOR and s.strip() in prompt]
    if not anchors:
        return "", prompt
    at = prompt.rfind(max(anchors, key=lambda s: len(s.strip())).strip())
    separators = (delimiter or "\n\n", *CHAT_TURNS)
    cuts = [i + len(sep) for sep in separators if (i := prompt.rfind(sep, 0, at)) >= 0]
    if not cuts:
        return "", prompt
    cut = max(cuts)
    return prompt[:cut], prompt[cut:]


def _requests(row: dict[str, Any]) -> list[list[Any]]:
    """The logged requests as argument lists, from either layout (run folder: lists; lm-eval's own
    ``--output_path`` files: ``{"gen_args_0": {"arg_0": ..., "arg_1": ...}}``)."""
    args = row.get("arguments")
    if isinstance(args, dict):
        return [list(a.values()) if isinstance(a, dict) else [a] for a in args.values()]
    if isinstance(args, list):
        return [a if isinstance(a, list) else [a] for a in args]
    return []


def _loglikelihood(response: Any) -> float | None:
    """An option's log-likelihood from ``[ll, is_greedy]`` (or ``[[ll, is_greedy]]``; numbers or strings)."""
    while isinstance(response, list) and response and isinstance(response[0], list):
        response = response[0]
    if not isinstance(response, list) or not response:
        return None
    try:
        return float(response[0])
    except (TypeError, ValueError):
        return None


def _labelled(option: str, question: str) -> str:
    """A letter option ("B", "(B)") with the text the question gives it ("B. 42"), else the option."""
    label = option.strip()
    if re.fullmatch(r"\([A-Z0-9]\)", label):
        pattern = rf"^\s*{re.escape(label)}\s+(\S.*)$"
    elif re.fullmatch(r"[A-Z]", label):
        pattern = rf"^\s*\(?{label}[.):]\s*(\S.*)$"
    else:
        return option
    found = re.findall(pattern, question, flags=re.MULTILINE)
    return f"{label}{'' if label.endswith(')') else '.'} {found[-1].strip()}" if found else option


def _gold_index(target: Any, options: list[str]) -> int | None:
    """lm-eval's gold: an option index (a number, or digits once logged as text) or an option's text."""
    if isinstance(target, list):
        target = target[0] if target else None
    if isinstance(target, bool):
        return None
    if isinstance(target, int):
        return target if 0 <= target < len(options) else None
    if isinstance(target, str):
        if target.strip().isdigit() and int(target) < len(options):
            return int(target)
        if target in options:
            return options.index(target)
        if target.strip() in [o.strip() for o in options]:
            return [o.strip() for o in options].index(target.strip())
    return None


def choice_texts(
    row: dict[str, Any], metric: str, question: str, target_delimiter: str = " "
) -> tuple[str, str] | None:
    """(chosen option, gold option) of a multiple-choice sample, or None for any other kind of sample.

    The choice follows lm-eval's metric: ``acc_norm`` divides each log-likelihood by the option's length in
    characters, every other metric takes the highest log-likelihood.
    """
    requests = _requests(row)
    if len(requests) < 2 or any(len(r) != 2 or not all(isinstance(x, str) for x in r) for r in requests):
        return None
    if len({r[0] for r in requests}) != 1:  # one continuation after several contexts: not options
        return None
    responses = row.get("filtered_resps") or row.get("resps")
    if not isinstance(responses, list) or len(responses) != len(requests):
        return None
    scores = [_loglikelihood(r) for r in responses]
    if any(s is None for s in scores):
        return None
    options = [c[len(target_delimiter) :] if c.startswith(target_delimiter) else c for _, c in requests]
    if metric == "acc_norm":
        scores = [s / max(len(o), 1) for s, o in zip(scores, options, strict=True)]  # type: ignore[operator]
    chosen = max(range(len(options)), key=lambda i: (scores[i], -i))  # first of equals, as numpy's argmax
    gold = _gold_index(row.get("target"), options)
    gold_text = _labelled(options[gold], question) if gold is not None else str(row.get("target", ""))
    return _labelled(options[chosen], question), gold_text


def instructions(doc: Any) -> str | None:
    """IFEval's gold: the instructions the response must follow, with their arguments."""
    names = doc.get("instruction_id_list") if isinstance(doc, dict) else None
    if not isinstance(names, list):
        return None
    kwargs = doc.get("kwargs")
    kwargs = kwargs if isinstance(kwargs, list) else []
    parts = []
    for i, name in enumerate(names):
        args = kwargs[i] if i < len(kwargs) and isinstance(kwargs[i], dict) else {}
        shown = ", ".join(f"{k}={v}" for k, v in args.items() if v is not None)
        parts.append(f"{name} ({shown})" if shown else str(name))
    return "; ".join(parts)
