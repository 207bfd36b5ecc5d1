"""The benchmark registry: the protocol's 24 benchmarks, selection, errors, plugins, LiveBench releases."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from _suite_plugin import PLUGIN_ENTRY

from sosbench.errors import SosbenchError
from sosbench.suite import (
    FACTORS,
    Registry,
    _suite,
    benchmarks,
    get_benchmark,
    livebench_release,
    read_suite_file,
    select,
)


def test_the_suite_is_the_protocols_24_benchmarks() -> None:
    bs = benchmarks()
    assert len(bs) == 24
    assert Counter(b.factor for b in bs) == {"WK": 10, "IF": 2, "Safety": 12}
    assert Counter(b.engine for b in bs) == {"lm-eval": 18, "livebench": 6}
    # README sizes sum to the paper's 152,380 questions; factor sizes as in protocol 2.1.
    assert sum(b.size for b in bs) == 152_380
    sizes = {f: sum(b.size for b in bs if b.factor == f) for f in FACTORS}
    assert sizes == {"WK": 22_550, "IF": 740, "Safety": 129_090}


def test_entries_carry_what_scoring_and_the_mirror_need() -> None:
    bbq = get_benchmark("bbq")
    assert bbq.datasets[0].id == "walledai/BBQ" and len(bbq.datasets[0].splits) == 11
    assert bbq.score is not None and bbq.score.pool and not bbq.score.invert
    wmdp = get_benchmark("wmdp")
    assert wmdp.score is not None and wmdp.score.invert and wmdp.artifact == ("wmdp/acc",)
    assert len(get_benchmark("bbh").result_keys()) == 24
    assert get_benchmark("ifeval").score.metrics == (  # type: ignore[union-attr]
        "prompt_level_strict_acc",
        "inst_level_strict_acc",
        "prompt_level_loose_acc",
        "inst_level_loose_acc",
    )
    assert get_benchmark("livebench-reasoning").livebench.tasks == ("web_of_lies_v2", "zebra_puzzle")  # type: ignore[union-attr]


def test_corrected_protocol_renames_only_the_defective_tasks() -> None:
    assert get_benchmark("dttoxicity").result_keys("corrected") == ("sos_dttoxicity_corrected/acc",)
    assert get_benchmark("jailbreakhub").lm_eval_tasks("corrected") == ("sos_jailbreakhub_corrected",)
    assert get_benchmark("xstest").result_keys("corrected") == ("sos_xstest/acc",)


def test_every_artifact_column_exists_in_the_papers_csv(shared_data: Path) -> None:
    header = (shared_data / "artifacts" / "eleuther_wandb.csv").read_text().splitlines()[0].split(",")
    for bench in benchmarks():
        for column in bench.artifact:
            assert column in header, (bench.name, column)


def test_selection_by_names_and_factor() -> None:
    assert [b.name for b in select("wmdp,bbq")] == ["wmdp", "bbq"]  # the order given: runs follow it
    assert [b.name for b in select("wmdp,bbq,wmdp")] == ["wmdp", "bbq"]  # each once
    assert len(select(factor="safety")) == 12
    assert [b.name for b in select("ifeval,bbq", factor="IF")] == ["ifeval"]


@pytest.mark.parametrize(
    ("names", "factor", "message"),
    [
        ("mmlu_prp", None, r"unknown benchmark 'mmlu_prp': did you mean mmlu-pro"),
        ("bbq,xtest", None, r"unknown benchmark 'xtest': did you mean xstest"),
        (None, "Safty", r"unknown factor 'Safty': did you mean Safety\?"),
        ("ifeval", "WK", r"the selection is empty"),
    ],
)
def test_bad_selection_is_one_line_with_suggestions(
    names: str | None, factor: str | None, message: str
) -> None:
    with pytest.raises(SosbenchError, match=message) as info:
        select(names, factor)
    assert "\n" not in str(info.value)


def test_registry_rejects_duplicates() -> None:
    reg: Registry[int] = Registry("thing")
    reg.register("a", 1)
    with pytest.raises(SosbenchError, match="'a' is registered twice"):
        reg.register("a", 2)


def test_plugin_suite_file_adds_benchmarks_outside_the_factor_averages(plugin_suite) -> None:
    plugin_suite("version: 1\nbenchmarks:\n" + PLUGIN_ENTRY)
    mine = get_benchmark("my-safety")
    assert mine.plugin == "mine" and len(benchmarks()) == 25
    assert mine.factor_average is False  # reported, but it does not shift the paper's Safety mean
    assert all(b.factor_average for b in benchmarks() if b.plugin == "builtin")


def test_plugin_benchmark_opts_in_to_its_factor(plugin_suite) -> None:
    plugin_suite("version: 1\nbenchmarks:\n" + PLUGIN_ENTRY + "    factor_average: true\n")
    assert get_benchmark("my-safety").factor_average is True


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("    size: 10\n", "    sizee: 10\n"), r"extra.yaml: benchmark 'my-safety': sizee: unknown key"),
        (
            ("samples: [my_task]}", "samples: [my_task], invrt: true}"),
            r"benchmark 'my-safety': score.invrt: unknown key$",
        ),
        (
            ("    size: 10\n", "    size: big\n"),
            r"benchmark 'my-safety': size: Input should be a valid integer",
        ),
        (
            ("factor: Safety", "factor: safe"),
            r"benchmark 'my-safety': factor: Input should be 'WK', 'IF' or 'Safety'",
        ),
        (("    metric: acc\n", ""), r"benchmark 'my-safety': metric: missing key"),
        (
            ("    score: {keys: [my_task/acc], samples: [my_task]}\n", ""),
            r"an lm-eval benchmark needs a `score`",
        ),
    ],
)
def test_bad_plugin_entry_is_one_line_naming_file_and_field(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    bad = tmp_path / "extra.yaml"
    bad.write_text("version: 1\nbenchmarks:\n" + PLUGIN_ENTRY.replace(*change))
    with pytest.raises(SosbenchError, match=message) as info:
        read_suite_file(bad)
    assert "\n" not in str(info.value)


def test_bad_plugin_is_refused_when_the_registry_loads(plugin_suite) -> None:
    plugin_suite("version: 1\nbenchmarks:\n" + PLUGIN_ENTRY.replace("    size: 10\n", "    size: big\n"))
    with pytest.raises(SosbenchError, match=r"extra.yaml: benchmark 'my-safety': size:"):
        benchmarks()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("benchmarks: []\n", r"needs `version: 1`"),
        ("version: 1\nbenchmark: []\n", r"unknown key 'benchmark'"),
        ("version: 1\nbenchmarks: [\n", r"extra.yaml:\d+: not valid YAML"),
        ("version: 1\nbenchmarks:\n  - {name: x, plugin: other}\n", r"`plugin` is set by sosbench"),
    ],
)
def test_bad_suite_file_is_one_line(tmp_path: Path, text: str, message: str) -> None:
    bad = tmp_path / "extra.yaml"
    bad.write_text(text)
    with pytest.raises(SosbenchError, match=message):
        read_suite_file(bad)


def test_the_builtin_suite_file_validates() -> None:
    assert [b.name for b in read_suite_file(_suite.SUITE_FILE, "builtin")] == [b.name for b in benchmarks()]


def test_livebench_benchmarks_come_from_the_release_entry() -> None:
    release = livebench_release()
    assert release.date == "2024-06-24" and len(release.tasks) == 17
    for bench in (b for b in benchmarks() if b.engine == "livebench"):
        category = bench.livebench.category  # type: ignore[union-attr]
        spec = release.categories[category]
        assert bench.livebench.tasks == spec.tasks  # type: ignore[union-attr]
        assert bench.tasks == (f"livebench_{category}",) and bench.task_source == "sosbench"
        assert [(d.id, d.revision) for d in bench.datasets] == [(f"livebench/{category}", spec.revision)]
    assert {b.livebench.category for b in benchmarks() if b.livebench} == set(release.categories)


def test_livebench_entry_with_a_category_the_release_lacks_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "extra.yaml"
    bad.write_text(
        "version: 1\nbenchmarks:\n  - {name: lb-spatial, title: S, factor: WK, engine: livebench, size: 1,"
        " metric: m, livebench: {category: spatial}}\n"
    )
    with pytest.raises(SosbenchError, match=r"'spatial' is not a category of LiveBench release 2024-06-24"):
        read_suite_file(bad)


def test_behaviour_flags_replace_name_checks() -> None:
    """Which benchmarks need punkt_tab and lm-eval's own task index is data, not `name == ...` in code."""
    assert {b.name for b in benchmarks() if b.needs_punkt_tab} == {"ifeval"} | {
        b.name for b in benchmarks() if b.engine == "livebench"
    }
    assert {b.name for b in benchmarks() if b.task_source == "lm-eval"} == {
        "ifeval",
        "musr",
        "gpqa",
        "mmlu-pro",
    }
    # the shipped definitions folder holds exactly the tasks of the `sosbench` ones
    for bench in benchmarks():
        shipped = all(t.startswith(("sos_", "livebench_")) for t in bench.tasks)
        assert shipped == (bench.task_source == "sosbench"), bench.name
