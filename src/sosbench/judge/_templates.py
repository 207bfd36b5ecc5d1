"""Judge templates: the Arena-Hard-Auto v0.1 judge configs, read from byte-exact data files.

A template is the judge config of Arena-Hard-Auto (``judge_config.yaml``): system prompt, the user-prompt
template with ``{question_1}``, ``{answer_1}`` (assistant A) and ``{answer_2}`` (assistant B), the verdict
regex, the number of attempts and the sampling settings. The two templates of the paper ship as package
data; any other Arena-Hard-style YAML file can be given by path.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from sosbench.errors import SosbenchError

CRITERIA: tuple[str, ...] = ("correctness", "completeness", "safety", "conciseness", "style")
"""The per-criterion verdicts of the SOS multi-criteria template, in the template's order."""

BUILTIN_TEMPLATES: dict[str, str] = {
    "arena-hard": "judge_arena_hard_default.yaml",
    "sos-multicriteria": "judge_sos_multicriteria.yaml",
}

# The follow-up message the reference sends when no verdict parsed (Arena-Hard-Auto v0.1 gen_judgment.py).
CONTINUE_MESSAGE = "continue your judgment and finish by outputting a final verdict label"


@dataclass(frozen=True)
class JudgeTemplate:
    """One judge configuration (the fields of Arena-Hard-Auto's judge_config.yaml that drive a judgment)."""

    name: str
    system_prompt: str
    prompt_template: str
    regex_pattern: str
    attempts: int
    temperature: float
    max_tokens: int
    baseline_model: str
    judge_model: str
    criteria: tuple[str, ...]

    def user_prompt(self, question: str, answer_a: str, answer_b: str) -> str:
        """The judge's user turn for one game (A and B already placed)."""
        return self.prompt_template.format(question_1=question, answer_1=answer_a, answer_2=answer_b)


def data_file(*parts: str) -> Path:
    """A file under the package's ``data/`` folder."""
    return Path(str(resources.files("sosbench").joinpath("data", *parts)))


def load_template(spec: str) -> JudgeTemplate:
    """A built-in template by name (``arena-hard``, ``sos-multicriteria``) or an Arena-Hard YAML file by path."""
    import yaml

    if spec in BUILTIN_TEMPLATES:
        path, name = data_file("judge", BUILTIN_TEMPLATES[spec]), spec
    else:
        path, name = Path(spec), Path(spec).stem
        if not path.is_file():
            known = ", ".join(BUILTIN_TEMPLATES)
            raise SosbenchError(f"--template {spec!r} is neither a built-in template ({known}) nor a YAML file")
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SosbenchError(f"{path}: not valid YAML ({exc.__class__.__name__}); fix the judge config") from exc
    return _from_config(config, name, path)


def _from_config(config: object, name: str, path: Path) -> JudgeTemplate:
    required = ("system_prompt", "prompt_template", "regex_pattern")
    if not isinstance(config, dict) or any(key not in config for key in required):
        raise SosbenchError(f"{path}: a judge config needs the keys {', '.join(required)} (Arena-Hard layout)")
    prompt = config["prompt_template"]
    if isinstance(prompt, list):
        if len(prompt) != 1:
            raise SosbenchError(f"{path}: prompt_template must hold exactly one template (single-turn judging)")
        prompt = prompt[0]
    system = str(config["system_prompt"])
    # A template asks for per-criterion verdicts when it shows the ((...)) format; it names each criterion.
    criteria = tuple(c for c in CRITERIA if f"{c.capitalize()}:" in system) if "((" in system else ()
    return JudgeTemplate(
        name=name,
        system_prompt=system,
        prompt_template=str(prompt),
        regex_pattern=str(config["regex_pattern"]),
        attempts=int(config.get("number_of_judgment_attempts", 2)),
        temperature=float(config.get("temperature", 0)),
        max_tokens=int(config.get("max_tokens", 4096)),
        baseline_model=str(config.get("baseline_model") or "gpt-4-0314"),
        judge_model=str(config.get("judge_model") or ""),
        criteria=criteria,
    )
