"""The benchmark registry: the protocol's 24 benchmarks, selection, errors, plugins, lazy CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from sosbench.errors import SosbenchError
from sosbench.suite import FACTORS, Registry, _suite, benchmarks, get_benchmark, registry, select


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
    assert [b.name for b in select("wmdp,bbq")] == ["bbq", "wmdp"]  # suite order
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
def test_bad_selection_is_one_line_with_suggestions(names: str | None, factor: str | None, message: str) -> None:
    with pytest.raises(SosbenchError, match=message) as info:
        select(names, factor)
    assert "\n" not in str(info.value)


def test_registry_rejects_duplicates() -> None:
    reg: Registry[int] = Registry("thing")
    reg.register("a", 1)
    with pytest.raises(SosbenchError, match="'a' is registered twice"):
        reg.register("a", 2)


def test_plugin_suite_file_adds_benchmarks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    suite = tmp_path / "extra.yaml"
    suite.write_text(
        "version: 1\nbenchmarks:\n  - name: my-safety\n    title: Mine\n    factor: Safety\n    engine: lm-eval\n"
        "    size: 10\n    metric: acc\n    datasets: [{id: me/data, configs: [null], splits: [test]}]\n"
        "    tasks: [my_task]\n    score: {keys: [my_task/acc], samples: [my_task]}\n"
    )

    class FakeEntryPoint:
        name = "mine"

        def load(self):
            return lambda: suite

    monkeypatch.setattr(_suite, "entry_points", lambda group: [FakeEntryPoint()])
    registry.cache_clear()
    try:
        assert get_benchmark("my-safety").plugin == "mine"
        assert len(benchmarks()) == 25
    finally:
        registry.cache_clear()


def test_plugin_with_unknown_key_names_it(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nbenchmarks:\n  - {name: x, title: X, factor: WK, engine: lm-eval, sizee: 3}\n")
    with pytest.raises(SosbenchError, match=r"bad.yaml: benchmark 'x': unknown key 'sizee'"):
        _suite.load_suite_file(bad, "bad", Registry("benchmark"))


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sosbench.cli", *args], capture_output=True, text=True, timeout=120, check=False)


def test_list_json_has_the_documented_keys() -> None:
    out = _cli("list", "--format", "json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert len(rows) == 24
    for row in rows:
        assert {"name", "factor", "engine", "dataset", "size", "metric"} <= set(row)
    assert {r["name"]: r["dataset"] for r in rows}["bbq"] == "walledai/BBQ"


def test_list_unknown_name_is_one_line_no_traceback() -> None:
    out = _cli("list", "--benchmarks", "mmlu_prp")
    assert out.returncode == 1
    assert out.stderr.strip() == "error: unknown benchmark 'mmlu_prp': did you mean mmlu-pro, musr?"


def test_cli_start_up_imports_no_heavy_library() -> None:
    code = (
        "import sys; from sosbench.cli import app; import sosbench.suite; sosbench.suite.benchmarks(); "
        "heavy = {'torch', 'transformers', 'lm_eval', 'datasets', 'matplotlib', 'openai', 'vllm'}; "
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert out.stdout.strip() == "[]", out.stderr
