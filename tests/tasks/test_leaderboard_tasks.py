"""`--protocol paper` runs the leaderboard tasks as the paper's lm-eval (74d23a67) defined them.

74d23a67's lm-eval rendered BBH descriptions through Jinja, which drops one trailing newline; lm-eval
0.4.13 keeps it, so the 74d23a67 files under 0.4.13 would not give the paper's prompts, and 0.4.13's own
BBH files drop every newline (snarks keeps one in the paper). MATH-hard's `exact_match` became the
math-verify metric. sosbench ships the 74d23a67 BBH and MATH-hard files with the documented edits
(src/sosbench/tasks/definitions/leaderboard/); these tests check the copies against
../shared/data/protocol/leaderboard_74d23a67 and their prompts and scores on real sample items.
benchmarks/leaderboard_fidelity.py checks all six benchmarks against lm-eval 0.4.3 itself.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from _paths import REPO

from sosbench.run import repo_folder
from sosbench.suite import get_benchmark
from sosbench.tasks import definitions_dir

SHIPPED = definitions_dir() / "leaderboard"
BBH_FIRST_SHOT = (
    "Evaluate the result of a random Boolean expression.Q: not ( ( not not True ) ) is\nA: False\n\n"
)
SNARKS_JOIN = "ambivalent or witty remarks.\nQ: Which statement is sarcastic?"


def _jinja(text: str) -> str:
    """A description as 74d23a67's lm-eval rendered it (a default Jinja environment)."""
    import jinja2

    return jinja2.Environment().from_string(text).render()


def _body(path: Path) -> str:
    """A shipped file without its provenance header, task names as in the source."""
    lines = path.read_text().splitlines(keepends=True)
    while lines and lines[0].startswith("#"):
        lines.pop(0)
    return re.sub(r"\bsos_leaderboard_", "leaderboard_", "".join(lines))


def test_shipped_bbh_files_are_the_74d23a67_files_with_the_rendered_description(shared_data: Path) -> None:
    reference = shared_data / "protocol" / "leaderboard_74d23a67" / "bbh_mc"
    assert {p.name for p in (SHIPPED / "bbh").iterdir()} == {p.name for p in reference.iterdir()}
    for name in ("_fewshot_template_yaml", "_leaderboard_bbh.yaml"):
        assert _body(SHIPPED / "bbh" / name) == (reference / name).read_text(), name
    for path in sorted(reference.glob("[!_]*.yaml")):
        ref = yaml.safe_load(path.read_text())
        ours = yaml.safe_load(_body(SHIPPED / "bbh" / path.name))
        assert ours == {**ref, "description": _jinja(ref["description"])}, path.name
        assert ours["description"] == ref["description"][:-1]  # exactly one newline less


def test_shipped_math_files_are_the_74d23a67_files(shared_data: Path) -> None:
    reference = shared_data / "protocol" / "leaderboard_74d23a67" / "math"
    names = {p.name for p in (SHIPPED / "math").iterdir() if p.name != "__pycache__"}
    assert names - {"level5.py"} == {p.name for p in reference.iterdir()}  # level5.py: sosbench's own filter
    edited = {"_template_yaml", "utils.py"}
    for name in sorted(names - edited - {"level5.py"}):
        assert _body(SHIPPED / "math" / name) == (reference / name).read_text(), name
    for name in sorted(edited):  # the changes the file headers document, and nothing else
        ours, theirs = (
            _body(SHIPPED / "math" / name).splitlines(),
            (reference / name).read_text().splitlines(),
        )
        changed = {"+": sorted(set(ours) - set(theirs)), "-": sorted(set(theirs) - set(ours))}
        assert (
            changed
            == {
                "_template_yaml": {
                    "+": [
                        "dataset_path: DigitalLearningGmbH/MATH-lighteval",
                        "process_docs: !function level5.process_docs",
                    ],
                    "-": [
                        "  trust_remote_code: true",
                        "dataset_kwargs:",
                        "dataset_path: lighteval/MATH-Hard",
                        "process_docs: !function utils.process_docs",
                    ],
                },
                "utils.py": {
                    "+": ["eval_logger = logging.getLogger(__name__)", "import logging"],
                    "-": ["from lm_eval.utils import eval_logger"],
                },
            }[name]
        )


def _builtin_tasks() -> Path:
    """The installed lm-eval's own task folder (indexing only the part a test needs: a second, not 15)."""
    import lm_eval.tasks

    return Path(lm_eval.tasks.__file__).parent


def _load(include: list[Path], tasks: list[str], folder: Path, work: Path) -> dict[str, Any]:
    """Leaf tasks of ``tasks`` read from a mirror folder, as `sosbench run --data-dir` wraps them."""
    from lm_eval.tasks import TaskManager

    work.mkdir(parents=True, exist_ok=True)
    (work / "wrap.yaml").write_text(
        yaml.safe_dump({"group": "wrap", "task": tasks, "dataset_path": str(folder)})
    )
    manager = TaskManager(include_path=[*map(str, include), str(work)], include_defaults=False)
    return manager.load(["wrap"])["tasks"]


@pytest.fixture(scope="module")
def bbh(
    sample_mirror: Path, shared_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, dict[str, Any]]:
    folder, work = repo_folder(sample_mirror, "SaylorTwift/bbh"), tmp_path_factory.mktemp("bbh")
    return {
        "ours": _load(
            [definitions_dir()], list(get_benchmark("bbh").lm_eval_tasks("paper")), folder, work / "ours"
        ),
        "74d23a67": _load(
            [shared_data / "protocol" / "leaderboard_74d23a67"], ["leaderboard_bbh"], folder, work / "ref"
        ),
        "0.4.13": _load(
            [_builtin_tasks() / "leaderboard" / "bbh_mc"], ["leaderboard_bbh"], folder, work / "builtin"
        ),
    }


def _prompts(tasks: dict[str, Any], prefix: str) -> dict[str, list[str]]:
    return {
        name.removeprefix(prefix): [
            task.fewshot_context(doc, task.config.num_fewshot) for doc in task.test_docs()
        ]
        for name, task in tasks.items()
    }


def test_bbh_prompts_are_the_74d23a67_prompts_byte_for_byte(bbh: dict[str, dict[str, Any]]) -> None:
    ours = _prompts(bbh["ours"], "sos_leaderboard_bbh_")
    # the 74d23a67 tasks built by 0.4.13, with the description as the paper's lm-eval rendered it
    paper = {}
    for name, task in bbh["74d23a67"].items():
        description = task.config.description
        prompts = _prompts({name: task}, "leaderboard_bbh_")[name.removeprefix("leaderboard_bbh_")]
        assert all(p.startswith(description) for p in prompts)
        paper[name.removeprefix("leaderboard_bbh_")] = [
            _jinja(description) + p[len(description) :] for p in prompts
        ]
    assert len(ours) == 24 and sum(map(len, ours.values())) == 120
    assert ours == paper
    assert ours["boolean_expressions"][0].startswith(BBH_FIRST_SHOT)
    assert all(SNARKS_JOIN in p for p in ours["snarks"])
    # lm-eval 0.4.13's own task removed both of snarks' newlines: its 5 sample prompts differ.
    builtin = _prompts(bbh["0.4.13"], "leaderboard_bbh_")
    assert [
        (n, i) for n in ours for i, (a, b) in enumerate(zip(ours[n], builtin[n], strict=False)) if a != b
    ] == [("snarks", i) for i in range(5)]


def test_bbh_choices_targets_and_metric_are_the_paper_ones(bbh: dict[str, dict[str, Any]]) -> None:
    for name, task in bbh["ours"].items():
        ref = bbh["74d23a67"][name.removeprefix("sos_")]
        docs = list(task.test_docs())
        assert [(task.doc_to_choice(d), task.doc_to_target(d)) for d in docs] == [
            (ref.doc_to_choice(d), ref.doc_to_target(d)) for d in ref.test_docs()
        ]
        assert [m["metric"] for m in task.config.metric_list] == ["acc_norm"]


@pytest.fixture(scope="module")
def math_tasks(sample_mirror: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = repo_folder(sample_mirror, get_benchmark("math-lvl5").datasets[0].id)
    tasks = list(get_benchmark("math-lvl5").lm_eval_tasks("paper"))
    return _load([definitions_dir()], tasks, folder, tmp_path_factory.mktemp("math"))


def _boxed(solution: str) -> str:
    """The last \\boxed{...} of a solution, braces matched."""
    start = solution.rindex("\\boxed{") + len("\\boxed")
    depth = 0
    for end in range(start, len(solution)):
        depth += {"{": 1, "}": -1}.get(solution[end], 0)
        if depth == 0:
            return solution[start + 1 : end]
    raise ValueError(solution)


MATH_MISSED = ["(2,12)", "(3,-3,1)", "\\left( -\\frac{8}{3}, \\frac{4}{3}, -\\frac{1}{3} \\right)"]
"""Gold answers sympy cannot parse (tuples): under the paper rule they never score, even exactly right."""


@pytest.mark.parametrize(
    "every",
    # sympy's LaTeX parser takes about 0.1 s per answer: the fast tier checks every 4th problem and the
    # three that never score, the slow tier all 28
    [pytest.param(4, id="sample"), pytest.param(1, id="all", marks=pytest.mark.slow)],
)
def test_math_paper_metric_wants_the_minerva_answer_format(
    math_tasks: dict[str, Any], shared_data: Path, every: int
) -> None:
    import json

    rows = [
        json.loads(line)
        for f in sorted((shared_data / "samples" / "math_hard").glob("*.jsonl"))
        for line in f.read_text().splitlines()
        if line.strip()
    ]
    docs = [(task, doc) for task in math_tasks.values() for doc in task.test_docs()]
    assert len(docs) == sum(r["level"] == "Level 5" for r in rows) == 28  # Level 5 only, as MATH-Hard held
    checked = [d for i, d in enumerate(docs) if i % every == 0 or _boxed(d[1]["solution"]) in MATH_MISSED]
    missed = []
    for task, doc in checked:
        assert [m["metric"] for m in task.config.metric_list] == ["exact_match"]
        answer = _boxed(doc["solution"])
        minerva = f"Final Answer: The final answer is ${answer}$. I hope it is correct."
        if task.process_results(doc, [minerva]) != {"exact_match": 1}:
            missed.append(answer)
        assert task.process_results(doc, [f"The answer is {answer}."]) == {"exact_match": 0}
        assert task.process_results(doc, [f"$\\boxed{{{answer}}}$"]) == {"exact_match": 0}
        prompt = task.fewshot_context(doc, 4)
        assert prompt.startswith(
            "Problem:\nFind the domain of the expression  $\\frac{\\sqrt{x-2}}{\\sqrt{5-x}}$.}\n\n"
        )
        assert prompt.endswith(f"Problem:\n{doc['problem']}\n\nSolution:")
    # The paper rule has no string comparison: gold answers sympy cannot parse (tuples) never score,
    # even when exactly right (docs/tasks.md, kept as the paper ran it).
    assert sorted(missed) == MATH_MISSED


def test_math_the_answer_is_24_scores_0_under_the_paper_rule_and_1_under_lm_eval_0_4_13(
    math_tasks: dict[str, Any],
) -> None:
    from lm_eval.tasks.leaderboard.math import utils as current

    task = next(iter(math_tasks.values()))
    shot = list(task.fewshot_docs())[1]  # det(AB) = (2)(12) = \boxed{24}
    doc = {"problem": shot["problem"], "solution": shot["solution"], "answer": "24"}
    assert task.process_results(doc, ["The answer is 24."]) == {"exact_match": 0}
    assert task.process_results(doc, ["Final Answer: The final answer is $24$. I hope it is correct."]) == {
        "exact_match": 1
    }
    assert current.process_results(doc, ["The answer is 24."])["exact_match"] == 1  # math-verify


def test_registry_reads_the_paper_era_tasks_under_both_protocols() -> None:
    for name, prefix in [("bbh", "sos_leaderboard_bbh_"), ("math-lvl5", "sos_leaderboard_math_")]:
        bench = get_benchmark(name)
        for protocol in ("paper", "corrected"):
            assert all(k.startswith(prefix) for k in bench.result_keys(protocol))
            assert bench.sample_tasks(protocol) == tuple(k.split("/")[0] for k in bench.result_keys(protocol))
        # the paper's artifact columns keep lm-eval's names, so plain lm-eval results still read
        assert bench.artifact == tuple(k.removeprefix("sos_") for k in bench.result_keys())


@pytest.mark.slow
def test_fidelity_against_lm_eval_0_4_3() -> None:
    """The whole check of benchmarks/leaderboard_fidelity.py (builds an lm-eval 0.4.3 venv on first use)."""
    import sys

    sys.path.insert(0, str(REPO / "benchmarks"))
    import leaderboard_fidelity

    status = leaderboard_fidelity.main([])
    if status == 2:
        pytest.skip("the lm-eval 0.4.3 environment cannot be built here (see the script's output)")
    assert status == 0
