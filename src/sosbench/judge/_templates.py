"""Judge templates: the Arena-Hard-Auto judge configs, read from byte-exact data files.

A template is the judge config of Arena-Hard-Auto. A v0.1 ``judge_config.yaml`` holds the system prompt,
the user-prompt template with ``{question_1}``, ``{answer_1}`` (assistant A) and ``{answer_2}`` (assistant
B), the verdict regex, the number of attempts and the sampling settings; all matches of the regex must
agree. A v2.0 config (``config/arena-hard-v2.0.yaml``) holds the user-prompt template with ``{QUESTION}``,
``{ANSWER_A}`` and ``{ANSWER_B}``, a list of verdict patterns (the first that matches the upper-cased
text decides, its last match winning) and the sampling settings; its system prompts are the v2.0
per-category ones (``data/judge/arena-hard-v2.0/``), one call per game. The paper's two templates and
v2.0's ship as package data, a plugin package can add named ones (``sosbench.judge_templates`` entry
points, each naming the path of its template file), and any other Arena-Hard-style YAML file can be given
by path.

Every file is validated strictly (:class:`JudgeConfigFile`, unknown keys refused): a typo such as
``max_token: 48`` would otherwise be ignored and the judge run with 4096 tokens. :func:`load_template` is
also what ``sosbench validate`` calls on a template file.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sosbench._io import MAX_YAML_BYTES, load_yaml, read_text
from sosbench._registry import Registry, load_entry_points
from sosbench.errors import SosbenchError, from_validation
from sosbench.judge._parsing import ParsedVerdict, parse_last_verdict, parse_verdict

CRITERIA: tuple[str, ...] = ("correctness", "completeness", "safety", "conciseness", "style")
"""The per-criterion verdicts of the SOS multi-criteria template, in the template's order."""

BUILTIN_TEMPLATES: dict[str, str] = {
    "arena-hard": "judge_arena_hard_default.yaml",
    "sos-multicriteria": "judge_sos_multicriteria.yaml",
    "arena-hard-v2.0": "arena-hard-v2.0/arena-hard-v2.0.yaml",
}
"""The paper's templates and v2.0's: name -> file under the package's ``data/judge/``."""

V01_FIELDS = ("question_1", "answer_1", "answer_2")
V20_FIELDS = ("QUESTION", "ANSWER_A", "ANSWER_B")

ENTRY_POINT_GROUP = "sosbench.judge_templates"

# The follow-up message the reference sends when no verdict parsed (Arena-Hard-Auto v0.1 gen_judgment.py).
CONTINUE_MESSAGE = "continue your judgment and finish by outputting a final verdict label"

# A criterion a system prompt asks a ((...)) verdict for: "Style: ((A>B))" or a numbered "3. Safety: ...".
_NAMED_VERDICT = re.compile(r"\b([A-Za-z]+)[*_ ]*:[*_ ]*\(\(")
_NUMBERED_CRITERION = re.compile(r"(?m)^\s*\d+\.\s*([A-Za-z]+):")


class JudgeConfigFile(BaseModel):
    """The keys of an Arena-Hard-Auto v0.1 ``judge_config.yaml`` (plus sosbench's optional ``criteria``)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    system_prompt: str
    prompt_template: str | list[str]
    regex_pattern: str
    name: str | None = None
    bench_name: str | None = None
    judge_model: str | None = None
    reference: bool | None = None
    ref_model: str | None = None
    baseline: bool = True
    baseline_model: str | None = None
    pairwise: bool = True
    temperature: float = Field(0.0, ge=0)
    max_tokens: int = Field(4096, ge=1)
    number_of_judgment_attempts: int = Field(2, ge=1)
    model_list: list[str] | None = None
    criteria: list[str] | None = (
        None  # sosbench: the ((...)) criteria, when the prompt does not name them plainly
    )


class JudgeConfigV2File(BaseModel):
    """The keys of an Arena-Hard-Auto v2.0 judge config (``config/arena-hard-v2.0.yaml``)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    prompt_template: str
    regex_patterns: list[str] = Field(min_length=1)
    judge_model: str | None = None
    bench_name: str | None = None
    reference: None = None  # reference answers are not part of the protocol sosbench runs
    temperature: float = Field(0.0, ge=0)
    max_tokens: int = Field(16000, ge=1)
    model_list: list[str] | None = None


@dataclass(frozen=True)
class JudgeTemplate:
    """One judge configuration (the fields of Arena-Hard-Auto's judge_config.yaml that drive a judgment)."""

    name: str
    system_prompt: str
    prompt_template: str
    regex_patterns: tuple[str, ...]
    attempts: int
    temperature: float
    max_tokens: int
    baseline_model: str
    judge_model: str
    criteria: tuple[str, ...]
    fields: tuple[str, str, str] = V01_FIELDS  # the prompt's placeholders: question, answer A, answer B
    category_prompts: tuple[tuple[str, str], ...] = ()  # v2.0: system prompt per question category
    last_match: bool = False  # v2.0's verdict rule (else v0.1's: all matches agree)

    def system_prompt_for(self, category: str) -> str:
        """The system prompt of a question's category (v2.0), else the template's one."""
        return dict(self.category_prompts).get(category, self.system_prompt)

    def user_prompt(self, question: str, answer_a: str, answer_b: str) -> str:
        """The judge's user turn for one game (A and B already placed)."""
        return self.prompt_template.format(
            **dict(zip(self.fields, (question, answer_a, answer_b), strict=True))
        )

    def verdict(self, text: str) -> ParsedVerdict:
        """The overall verdict of a judgment text, by the template's rule."""
        if self.last_match:
            return parse_last_verdict(text, self.regex_patterns)
        return parse_verdict(text, self.regex_patterns[0])

    @property
    def sha256(self) -> str:
        """Hash of what shapes a judgment (prompts, regex, attempts, sampling): judgments are keyed by it.

        Comments, ``model_list`` or ``judge_model`` do not enter, so editing them keeps the judgments valid.
        A v0.1 template hashes the fields it always did, so earlier judgments keep their key.
        """
        fields: list = [
            self.system_prompt,
            self.prompt_template,
            self.regex_patterns[0] if not self.last_match else list(self.regex_patterns),
            self.attempts,
            self.temperature,
            self.max_tokens,
            list(self.criteria),
        ]
        if self.last_match or self.category_prompts:
            fields += [list(self.fields), [list(c) for c in self.category_prompts], self.last_match]
        return hashlib.sha256(json.dumps(fields, ensure_ascii=False).encode("utf-8")).hexdigest()


def data_file(*parts: str) -> Path:
    """A file under the package's ``data/`` folder."""
    return Path(str(resources.files("sosbench").joinpath("data", *parts)))


@functools.cache
def templates() -> Registry[str | os.PathLike[str]]:
    """Name -> template file: the built-in templates, then plugins' (``sosbench.judge_templates`` entry
    points, each naming a path)."""
    registry: Registry[str | os.PathLike[str]] = Registry("judge template")
    for name, file in BUILTIN_TEMPLATES.items():
        registry.register(name, data_file("judge", file))
    return load_entry_points(registry, ENTRY_POINT_GROUP)


def load_template(spec: str) -> JudgeTemplate:
    """A registered template by name (``arena-hard``, ``sos-multicriteria``, a plugin's) or an Arena-Hard
    YAML file by path.

    Any problem (not YAML, unknown or mistyped key, a prompt without its placeholders, a regex that does not
    compile, a criterion sosbench cannot score) is one :class:`SosbenchError` line naming the file.
    """
    import yaml

    registry = templates()
    if spec in registry:
        path, name = Path(registry.get(spec)), spec
    else:
        path, name = Path(spec), Path(spec).stem
        if not path.is_file():
            known = ", ".join(registry.names())
            raise SosbenchError(
                f"--template {spec!r} is neither a built-in or plugin template ({known}) nor a YAML file"
            )
    try:
        config = load_yaml(read_text(path, "judge config (YAML)", MAX_YAML_BYTES), str(path))
    except yaml.YAMLError as exc:
        raise SosbenchError(
            f"{path}: not valid YAML ({exc.__class__.__name__}); fix the judge config"
        ) from None
    return _from_config(config, name, path)


def _from_config(config: object, name: str, path: Path) -> JudgeTemplate:
    if not isinstance(config, dict):
        raise SosbenchError(
            f"{path}: a judge config is a YAML mapping (Arena-Hard-Auto judge_config.yaml layout)"
        )
    if "regex_patterns" in config:
        return _from_v2_config(config, name, path)
    try:
        parsed = JudgeConfigFile.model_validate(config)
    except ValidationError as exc:
        raise from_validation(exc, str(path), "fix it (Arena-Hard-Auto judge_config.yaml keys)") from None
    if not parsed.pairwise or parsed.reference or not parsed.baseline:
        raise SosbenchError(
            f"{path}: sosbench judges pairwise against a baseline without reference answers "
            "(pairwise: true, baseline: true, reference: false)"
        )
    prompt = parsed.prompt_template
    if isinstance(prompt, list):
        if len(prompt) != 1:
            raise SosbenchError(
                f"{path}: prompt_template must hold exactly one template (single-turn judging)"
            )
        prompt = prompt[0]
    _check_prompt(prompt, V01_FIELDS, path)
    _check_regex(parsed.regex_pattern, "regex_pattern", path)
    return JudgeTemplate(
        name=name,
        system_prompt=parsed.system_prompt,
        prompt_template=prompt,
        regex_patterns=(parsed.regex_pattern,),
        attempts=parsed.number_of_judgment_attempts,
        temperature=float(parsed.temperature),
        max_tokens=parsed.max_tokens,
        baseline_model=parsed.baseline_model or "gpt-4-0314",
        judge_model=parsed.judge_model or "",
        criteria=_criteria(parsed, path),
    )


def _criteria(parsed: JudgeConfigFile, path: Path) -> tuple[str, ...]:
    """The criteria a template asks ((...)) verdicts for; one sosbench cannot score is an error."""
    known = ", ".join(CRITERIA)
    if parsed.criteria is not None:
        unknown = [c for c in parsed.criteria if c not in CRITERIA]
        if unknown:
            raise SosbenchError(
                f"{path}: criteria: {', '.join(unknown)} cannot be scored (sosbench knows {known})"
            )
        return tuple(c for c in CRITERIA if c in parsed.criteria)
    system = parsed.system_prompt
    if "((" not in system:
        return ()
    named = {m.lower() for m in _NAMED_VERDICT.findall(system) + _NUMBERED_CRITERION.findall(system)}
    unknown = sorted(named - set(CRITERIA))
    if unknown:
        raise SosbenchError(
            f"{path}: the system prompt asks for ((...)) verdicts on {', '.join(unknown)}, "
            "which sosbench cannot "
            f"score (it knows {known}): remove them, or list the scored ones under `criteria:`"
        )
    return tuple(c for c in CRITERIA if f"{c.capitalize()}:" in system)


def _check_prompt(prompt: str, fields: tuple[str, ...], path: Path) -> None:
    names = ", ".join(f"{{{key}}}" for key in fields)
    try:
        prompt.format(**{key: "x" for key in fields})
    except (KeyError, IndexError, ValueError) as exc:
        raise SosbenchError(
            f"{path}: prompt_template takes only {names} "
            f"(found a problem: {exc!r}); write other braces as {{{{ and }}}}"
        ) from None
    missing = [f"{{{key}}}" for key in fields if f"{{{key}}}" not in prompt]
    if missing:
        raise SosbenchError(
            f"{path}: prompt_template lacks {', '.join(missing)}: the judge would not see both answers"
        )


def _check_regex(pattern: str, key: str, path: Path) -> None:
    try:
        if re.compile(pattern).groups != 1:
            raise SosbenchError(f"{path}: {key} needs exactly one group, the verdict label")
    except re.error as exc:
        raise SosbenchError(f"{path}: {key} does not compile ({exc})") from None


def _from_v2_config(config: dict, name: str, path: Path) -> JudgeTemplate:
    """A v2.0 config: the prompt and patterns from the file, the system prompts of v2.0's categories."""
    from sosbench.judge._benchmarks import V20, get_benchmark

    try:
        parsed = JudgeConfigV2File.model_validate(config)
    except ValidationError as exc:
        raise from_validation(exc, str(path), "fix it (Arena-Hard-Auto v2.0 config keys)") from None
    _check_prompt(parsed.prompt_template, V20_FIELDS, path)
    for pattern in parsed.regex_patterns:
        _check_regex(pattern, "regex_patterns", path)
    categories = get_benchmark(V20).categories
    return JudgeTemplate(
        name=name,
        system_prompt=categories[0].system_prompt,  # a question of another category gets hard_prompt's
        prompt_template=parsed.prompt_template,
        regex_patterns=tuple(parsed.regex_patterns),
        attempts=1,
        temperature=float(parsed.temperature),
        max_tokens=parsed.max_tokens,
        baseline_model="",
        judge_model=parsed.judge_model or "",
        criteria=(),
        fields=V20_FIELDS,
        category_prompts=tuple((c.name, c.system_prompt) for c in categories),
        last_match=True,
    )
