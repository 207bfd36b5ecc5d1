"""The HTML report: self-contained, and checked in headless Chromium (console, figures, DOM rows, sorting).

Chromium (Debian package `chromium`) is driven over the DevTools protocol with `websocket-client`.
"""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import subprocess
import time
import urllib.request
from html import escape
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from _synthetic_runs import as_multiple_choice, write_judge_bench, write_run_folder

from sosbench.analysis import load_mapping
from sosbench.errors import SosbenchError
from sosbench.report import read_audit

FIGURES = {"factor_bars", "judge_scatter", "correlation_heatmap", "audit_heatmap"}
AUDIT = {
    "judges": [
        {
            "judge": "gpt-4o-mini-2024-07-18",
            "n_models": 8,
            "criteria": {
                "correctness": {"pearson": 0.71, "spearman": 0.69, "n": 8},
                "style": {"pearson": 0.99, "spearman": 0.98, "n": 8},
                "conciseness": {"pearson": -0.4, "spearman": -0.35, "n": 8},
                "safety": {"pearson": None, "spearman": None, "n": 2},  # undefined correlation
            },
            "scores": {"my-sft": {"overall": 12.5, "style": 20.0}},
            "factors": {"WK": {"pearson": 0.2, "spearman": 0.1, "n": 8}},
        }
    ]
}


@pytest.fixture(scope="module")
def report_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from typer.testing import CliRunner

    from sosbench.cli import app

    root = tmp_path_factory.mktemp("report")
    write_run_folder(root / "run-a", "my-sft")
    write_run_folder(root / "run-b", "my-dpo")
    judge = root / "judge.csv"
    judge.write_text(
        'model,score,rating_q025,rating_q975,CI\nmy-sft,12.5,11,14,"(-1.5, +1.5)"\nmy-dpo,30.1,28,32,"(-2.1, '
        '+1.9)"\n'
    )
    audit = root / "audit.json"
    audit.write_text(json.dumps(AUDIT))
    html = root / "out" / "report.html"
    args = [
        "report",
        str(root / "run-a"),
        str(root / "run-b"),
        "--paper",
        "--html",
        str(html),
        "--png",
        str(root / "png"),
        "--judge-scores",
        str(judge),
        "--audit",
        str(audit),
        "--bootstrap",
        "200",
        "--compare",
        str(root / "run-a"),
        str(root / "run-c"),
        "--judgments",
        str(_judge_folder(root)),
    ]
    write_run_folder(root / "run-c", "my-dpo-v2")
    # gpqa main as lm-eval logs multiple choice, with a few-shot prefix: two items the candidate gets right
    as_multiple_choice(root / "run-a" / "gpqa" / "samples_leaderboard_gpqa_main.jsonl")
    as_multiple_choice(root / "run-c" / "gpqa" / "samples_leaderboard_gpqa_main.jsonl", make_right=2)
    # a judge that prefers the candidate on questions 2 and 3 (strongly on 3)
    verdicts = ["B>A", "B>A", "A>B", "A>B", "A>B", "A>B"]
    write_judge_bench(
        root / "arena",
        "judge-x",
        {"my-sft": verdicts, "my-dpo-v2": [*verdicts[:2], "B>A", "B>>A", *verdicts[4:]]},
    )
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return {"html": html, "png": root / "png", "root": root}


def _judge_folder(root: Path) -> Path:
    """The judge's folder of the report fixture (``root/arena``)."""
    return root / "arena" / "model_judgment" / "judge-x"


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.external: list[str] = []
        self.leaderboard_models: list[str] = []
        self.figures: list[str] = []
        self._in_leaderboard = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        for key in ("src", "href"):
            if a.get(key) and re.match(r"(https?:)?//", a[key] or ""):
                self.external.append(a[key] or "")
        if tag == "script" and a.get("src"):
            self.external.append(a["src"] or "")
        if tag == "table":
            self._in_leaderboard = a.get("id") == "leaderboard"
        if tag == "tr" and self._in_leaderboard and a.get("data-model"):
            self.leaderboard_models.append(a["data-model"] or "")
        if tag == "figure":
            self.figures.append(a.get("id") or "")


def test_report_is_self_contained_with_every_model_and_figure(report_files) -> None:
    html = report_files["html"].read_text()
    parsed = _Collector()
    parsed.feed(html)
    assert parsed.external == []
    assert "<link" not in html
    expected = {m.model for m in load_mapping()} | {"my-sft", "my-dpo"}
    assert set(parsed.leaderboard_models) == expected
    assert 'id="comparison"' in html and "my-dpo-v2 versus my-sft" in html
    assert {f.removeprefix("fig-") for f in parsed.figures} == FIGURES
    assert {p.stem for p in report_files["png"].glob("*.png")} == FIGURES
    assert "Paper analyses" in html and "Judge audit" in html and "gpt-4o-mini-2024-07-18" in html
    # the audit's undefined safety correlation: n/a with its reason in the table, left out of the heatmap
    assert "safety: not drawn, no correlation of it is defined (see the audit table)." in html


def test_report_without_judge_scores_or_paper(tmp_path: Path) -> None:
    from sosbench.report import build_report_data, write_html_report
    from sosbench.scoring import score_paths

    write_run_folder(tmp_path / "run", "solo", with_samples=False)
    data = build_report_data(score_paths([tmp_path / "run"], bootstrap=0), None)
    out, figures = write_html_report(data, tmp_path / "solo.html")
    assert {f.name for f in figures if not f.hidden} == {"factor_bars"}
    hidden = {f.name: f.hidden for f in figures if f.hidden}
    assert hidden == {
        "judge_scatter": "no judge scores: pass --judge-scores or --paper",
        "correlation_heatmap": "no two measures to correlate: every correlation is undefined (fewer than 3 "
        "models have both values, or one is constant)",
    }
    text = out.read_text()
    for name, why in hidden.items():
        assert f'<p class="hidden-panel" id="hidden-{name}">Not drawn: {escape(why)}.</p>' in text
    assert 'id="fig-correlation_heatmap"' not in text and ">n/a<" not in text  # no panel of n/a drawn
    assert "No judge column: no judge scores" in text
    with pytest.raises(SosbenchError, match="nothing to report"):
        build_report_data(None, None)


def _partial_report(tmp_path: Path, skip: tuple[str, ...]) -> str:
    from sosbench.report import build_report_data, write_html_report
    from sosbench.scoring import score_paths

    for name in ("p1", "p2", "p3"):
        write_run_folder(tmp_path / name, name, skip=skip, with_samples=False)
    scores = score_paths([tmp_path / n for n in ("p1", "p2", "p3")], bootstrap=0)
    out, _ = write_html_report(build_report_data(scores, None), tmp_path / "partial.html")
    return out.read_text()


def test_empty_panels_of_partial_runs_are_hidden_with_one_line_each(tmp_path: Path) -> None:
    """Runs missing a benchmark of every factor (not --allow-partial) have no factor score: no n/a
    leaderboard, no empty factor bars, and the breakdown leaves out the benchmarks no model ran."""
    text = _partial_report(tmp_path, ("gpqa", "ifeval", "xstest"))
    assert 'id="leaderboard"' not in text and 'id="fig-factor_bars"' not in text
    assert (
        '<p class="hidden-panel" id="hidden-leaderboard">Leaderboard not drawn: no model has a complete '
        "factor score (p1, p2, p3: WK misses gpqa, IF misses ifeval, Safety misses xstest). " in text
    )
    assert '<p class="hidden-panel" id="hidden-factor_bars">Not drawn: no factor to draw: ' in text
    assert "Not shown (no model here has them): ifeval, gpqa, xstest." in text
    assert "<th>gpqa (WK)</th>" not in text and "<th>mmlu-pro (WK)</th>" in text


def test_a_factor_no_model_has_is_left_out_of_leaderboard_and_figures(tmp_path: Path) -> None:
    text = _partial_report(tmp_path, ("gpqa",))
    header = re.search(r'<table id="leaderboard" class="sortable"><thead><tr>(.*?)</tr>', text).group(1)
    assert re.findall(r"<th>(.*?)</th>", header) == ["model", "from", "IF", "Safety"]
    assert "Not shown: WK, Overall, complete for no model (p1, p2, p3: WK misses gpqa)." in text
    assert "WK, Overall: not drawn, no model has a complete score" in text  # the factor bars' note


def test_report_input_errors(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from sosbench.cli import app

    bad = tmp_path / "audit.json"
    bad.write_text('{"judges": [{"no_name": 1}]}')
    with pytest.raises(SosbenchError, match=r"audit\.json: not a judge audit"):
        read_audit(bad)
    result = CliRunner().invoke(app, ["report", "--html", str(tmp_path / "x.html")])
    assert result.exit_code == 1 and result.stderr.startswith("error: nothing to report")
    result = CliRunner().invoke(
        app, ["report", "--paper", "--judgments", str(tmp_path), "--html", str(tmp_path / "x.html")]
    )
    assert result.exit_code == 1 and result.stderr.startswith("error: --judgments adds the judge's row to a")


class _ComparisonRows(HTMLParser):
    """The cells of the report's comparison table: (text, data-value) per cell, one list per row."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[tuple[str, str | None]]] = []
        self._inside = self._cell = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._inside = dict(attrs).get("id") == "comparison"
        if self._inside and tag == "tbody":
            self.rows = []
        if self._inside and tag == "tr":
            self.rows.append([])
        if self._inside and tag == "td":
            self._cell = True
            self.rows[-1].append(("", dict(attrs).get("data-value")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._cell = False
        if tag == "table":
            self._inside = False

    def handle_data(self, data: str) -> None:
        if self._cell and self.rows and self.rows[-1]:
            text, value = self.rows[-1][-1]
            self.rows[-1][-1] = (text + data, value)


def test_report_compare_shows_the_numbers_of_compare(report_files) -> None:
    """`report --compare A B` and `compare A B` on the same pair and seed: the same differences, CIs and
    adjusted p-values (the same defaults and the same code)."""
    from typer.testing import CliRunner

    from sosbench.cli import app

    root = report_files["root"]
    args = ["compare", str(root / "run-a"), str(root / "run-c"), "--bootstrap", "200", "--format", "json"]
    result = CliRunner().invoke(app, [*args, "--judgments", str(_judge_folder(root))], catch_exceptions=False)
    expected = json.loads(result.stdout)["comparisons"][0]
    parsed = _ComparisonRows()
    parsed.feed(report_files["html"].read_text())
    assert len(parsed.rows) == len(expected["rows"])
    judge = expected["rows"][-1]
    assert judge["name"] == "judge (judge-x)" and judge["n"] == 6  # questions, not weighted battles
    for cells, row in zip(parsed.rows, expected["rows"], strict=True):
        assert cells[0][0] == row["name"] and cells[1][0] == str(row["n"])
        assert cells[4][1] == f"{row['diff']:.6g}"
        assert cells[5][0] == f"[{row['ci'][0] * 100:+.1f}, {row['ci'][1] * 100:+.1f}]"
        assert cells[7][1] == f"{row['p_adjusted']:.6g}"
    assert escape(expected["summary"]) in report_files["html"].read_text()


def test_partial_factors_and_limit_runs_are_marked_and_limit_runs_not_ranked_with_the_paper(
    tmp_path: Path,
) -> None:
    from typer.testing import CliRunner

    from sosbench.cli import app

    write_run_folder(tmp_path / "run", "small", skip=("gpqa",), with_samples=False)
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    (tmp_path / "run" / "manifest.json").write_text(json.dumps({**manifest, "config": {"limit": 30}}))
    html = tmp_path / "r.html"
    args = ["report", str(tmp_path / "run"), "--paper", "--html", str(html), "--bootstrap", "0"]
    refused = CliRunner().invoke(app, [*args, "--allow-partial"])
    assert refused.exit_code == 1 and not html.exists()
    assert refused.stderr.startswith("error: small is a --limit run (30 items per task)")
    assert "--rank-limited" in refused.stderr
    done = CliRunner().invoke(app, [*args, "--allow-partial", "--rank-limited"])
    assert done.exit_code == 0, done.output
    text = html.read_text()
    assert 'data-model="small * [30 items per task]"' in text
    assert 'title="partial, over 9 of 10 benchmarks (--allow-partial); 95% CI: analytic from stderr"' in text
    assert "small: WK is partial, over 9 of 10 benchmarks" in text
    assert "small: a --limit run (30 items per task): not comparable with full runs" in text


# --- headless Chromium -----------------------------------------------------------------------------


class DevTools:
    """A minimal DevTools-protocol session on one page (commands by id, events collected)."""

    def __init__(self, ws_url: str) -> None:
        import websocket

        self.ws = websocket.create_connection(ws_url, timeout=60, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict] = []

    def call(self, method: str, **params: object) -> dict:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, method: str, timeout: float = 60.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in self.events:
                if event.get("method") == method:
                    return event
            self.events.append(json.loads(self.ws.recv()))
        raise TimeoutError(method)

    def evaluate(self, expression: str) -> object:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(result["exceptionDetails"])
        return result["result"].get("value")

    def errors(self) -> list[str]:
        out = []
        for e in self.events:
            method, params = e.get("method"), e.get("params", {})
            if method == "Runtime.exceptionThrown":
                out.append(json.dumps(params.get("exceptionDetails", {}))[:300])
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                out.append(json.dumps(params.get("args", []))[:300])
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                out.append(params["entry"].get("text", ""))
        return out


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory):
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        pytest.skip("chromium is not installed (Debian package `chromium`; .ci/run installs it)")
    pytest.importorskip("websocket", reason="websocket-client is needed to drive chromium")
    profile = tmp_path_factory.mktemp("chromium-profile")
    proc = subprocess.Popen(
        [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            f"--user-data-dir={profile}",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            "--window-size=1600,1200",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 90
        while not (port_file.exists() and port_file.read_text().strip()):
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.fail(f"chromium did not start (exit {proc.poll()})")
            time.sleep(0.2)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=30) as response:
            pages = [t for t in json.load(response) if t.get("type") == "page"]
        yield DevTools(pages[0]["webSocketDebuggerUrl"])
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def _not_blank(png: bytes) -> bool:
    from PIL import Image

    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=float)
    non_white = (pixels < 240).mean()
    return pixels.std() > 10 and non_white > 0.01


def test_report_in_headless_chromium(report_files, chromium: DevTools) -> None:
    for domain in ("Runtime", "Log", "Page"):
        chromium.call(f"{domain}.enable")
    chromium.call("Page.navigate", url=report_files["html"].resolve().as_uri())
    chromium.wait_for("Page.loadEventFired")
    models = chromium.evaluate(
        "Array.from(document.querySelectorAll('#leaderboard tbody tr')).map(r => r.dataset.model)"
    )
    assert set(models) == {m.model for m in load_mapping()} | {"my-sft", "my-dpo"}
    # every scatter point names its model on hover; your models are labelled in the figure
    hovers = chromium.evaluate(
        "Array.from(document.querySelectorAll('#fig-judge_scatter g.point > title')).map(t => t.textContent)"
    )
    assert len(hovers) >= 3 * 30 and any(h.startswith("my-sft (yours)") for h in hovers)
    assert any(h.startswith("Llama-3-8B-Ultrachat (princeton) (paper)") for h in hovers)
    assert "my-sft" in chromium.evaluate("document.querySelector('#fig-judge_scatter svg').textContent")
    # the breakdown keeps its model column visible while scrolling
    assert chromium.evaluate("getComputedStyle(document.querySelector('#breakdown td')).position") == "sticky"
    # the per-item view: two differing items of gpqa and two judged questions, filterable and searchable
    visible = (
        "Array.from(document.querySelectorAll('#items tbody tr'))"
        ".filter(r => r.style.display !== 'none').length"
    )
    assert chromium.evaluate(visible) == 4
    chromium.evaluate(
        "const s = document.getElementById('item-benchmark'); s.value = 'gpqa'; s.dispatchEvent(new "
        "Event('change'))"
    )
    assert chromium.evaluate(visible) == 2
    # multiple choice: the chosen and the gold option's text, not log-likelihoods or an index
    cells = chromium.evaluate(
        "Array.from(document.querySelectorAll('#items tbody tr')).filter(r => r.style.display !== 'none')"
        ".map(r => Array.from(r.cells).slice(3, 6).map(c => c.innerText.trim()))"
    )
    assert cells == [["(C) green", "(B) blue", "(B) blue"]] * 2
    # the question is shown, its few-shot prefix folded (closed, takes no space) until opened
    chromium.evaluate("var GPQA = '#items tr[data-benchmark=\"gpqa\"]'")
    question = chromium.evaluate("document.querySelector(GPQA + ' td.question > div.said').innerText")
    assert question.startswith("Question: Which colour is item") and "Example 0" not in question
    folded = "document.querySelector(GPQA + ' details.prefix > div.said').checkVisibility()"
    assert chromium.evaluate("document.querySelector(GPQA + ' details.prefix').open") is False
    assert chromium.evaluate(folded) is False
    assert chromium.evaluate("document.querySelector(GPQA + ' details.prefix > summary').innerText") == (
        "few-shot prefix (116 characters)"  # two examples of 58 characters (tests/_synthetic_runs.py)
    )
    chromium.evaluate("document.querySelector(GPQA + ' details.prefix > summary').click()")
    assert chromium.evaluate(folded) is True
    chromium.evaluate(
        "const q = document.getElementById('item-search'); q.value = 'no such text'; q.dispatchEvent(new "
        "Event('input'))"
    )
    assert chromium.evaluate(visible) == 0
    chromium.evaluate(  # text only the folded prefix holds is not searched
        "const p = document.getElementById('item-search'); p.value = 'Example 0?'; p.dispatchEvent(new "
        "Event('input'))"
    )
    assert chromium.evaluate(visible) == 0
    chromium.evaluate(
        "const r = document.getElementById('item-search'); r.value = document.querySelector(GPQA + "
        "' td.question > div.said').textContent.split('\\n')[0]; r.dispatchEvent(new Event('input'))"
    )
    assert chromium.evaluate(visible) == 1
    # the judged questions: the question, both answers under the judge's verdicts, and no gold
    chromium.evaluate(
        "const j = document.getElementById('item-search'); j.value = ''; j.dispatchEvent(new Event('input'));"
        "const b = document.getElementById('item-benchmark'); b.value = 'judge (judge-x)';"
        "b.dispatchEvent(new Event('change'))"
    )
    judged = chromium.evaluate(
        "Array.from(document.querySelectorAll('#items tbody tr')).filter(r => r.style.display !== 'none')"
        ".map(r => Array.from(r.cells).slice(1, 6).map(c => c.innerText.trim()))"
    )
    assert [row[:2] for row in judged] == [
        ["q2", "Arena question 2: explain topic 2."],
        ["q3", "Arena question 3: explain topic 3."],
    ]
    assert judged[1][2] == (
        "vs gpt-4-0314: game 1 (baseline first) loss (A>B); game 2 (model first) loss (B>A)\n"
        "my-sft answers question 3."
    )
    assert judged[1][3] == (
        "vs gpt-4-0314: game 1 (baseline first) strong win (B>>A); game 2 (model first) strong win (A>>B)\n"
        "my-dpo-v2 answers question 3."
    )
    assert judged[1][4].startswith("(no gold: judged against gpt-4-0314's answer)\ngpt-4-0314 answers")
    # the paper's finding in words, with the very numbers of the correlations table and their CI kind
    finding = chromium.evaluate("document.getElementById('finding').innerText")
    table = chromium.evaluate(
        "Object.fromEntries(Array.from(document.querySelectorAll('#correlations tbody tr'))"
        ".map(r => [r.cells[0].innerText, r.cells[2].innerText]))"
    )
    for factor, words in (("WK", "World Knowledge"), ("IF", "Instruction Following"), ("Safety", "Safety")):
        r, ci = table[factor].split(" ", 1)
        assert f"{words} (r = {r}, 95% CI {ci})" in finding, (factor, finding)
    assert finding.startswith("Finding: Across ") and finding.endswith("(95% CIs: bootstrap over models).")
    kinds = chromium.evaluate(
        "Array.from(new Set(Array.from(document.querySelectorAll('#correlations span.ci'))"
        ".map(s => s.title)))"
    )
    assert kinds == ["95% CI, bootstrap over models (200 rounds)"]
    boxes = chromium.evaluate(
        "Array.from(document.querySelectorAll('figure.figure')).map(f => { const r = f.querySelector('svg')"
        ".getBoundingClientRect(); return [f.id, r.left + window.scrollX, r.top + window.scrollY, r.width, "
        "r.height]; })"
    )
    assert {b[0].removeprefix("fig-") for b in boxes} == FIGURES
    for name, x, y, width, height in boxes:
        assert width > 100 and height > 100, name
        shot = chromium.call(
            "Page.captureScreenshot",
            format="png",
            captureBeyondViewport=True,
            clip={"x": x, "y": y, "width": width, "height": height, "scale": 1},
        )
        assert _not_blank(base64.b64decode(shot["data"])), name
    # clicking the Overall header sorts the leaderboard (descending first, then ascending)
    read_overall = (
        "Array.from(document.querySelectorAll('#leaderboard tbody tr')).map(r => r.cells[5].dataset.value)"
        ".filter(v => v !== '').map(Number)"
    )
    chromium.evaluate("document.querySelector('#leaderboard thead th:nth-child(6)').click()")
    values = chromium.evaluate(read_overall)
    assert values == sorted(values, reverse=True) and len(values) >= 30
    chromium.evaluate("document.querySelector('#leaderboard thead th:nth-child(6)').click()")
    assert chromium.evaluate(read_overall) == sorted(values)
    assert chromium.errors() == []


def test_hidden_panels_in_headless_chromium(tmp_path: Path, chromium: DevTools) -> None:
    """Partial runs: one line says why for each panel left out; nothing of n/a is drawn."""
    _partial_report(tmp_path, ("gpqa", "ifeval", "xstest"))
    for domain in ("Runtime", "Log", "Page"):
        chromium.call(f"{domain}.enable")
    chromium.events.clear()  # the load event of an earlier page
    chromium.call("Page.navigate", url=(tmp_path / "partial.html").resolve().as_uri())
    chromium.wait_for("Page.loadEventFired")
    shown = chromium.evaluate(
        "Array.from(document.querySelectorAll('p.hidden-panel')).map(p => [p.id, p.innerText, "
        "p.getBoundingClientRect().height > 0])"
    )
    assert [(i, visible) for i, _, visible in shown] == [
        ("hidden-leaderboard", True),
        ("hidden-factor_bars", True),
        ("hidden-judge_scatter", True),
        ("hidden-correlation_heatmap", True),
    ]
    assert shown[2][1] == "Not drawn: no judge scores: pass --judge-scores or --paper."
    assert chromium.evaluate("document.querySelectorAll('figure, #leaderboard').length") == 0
    assert "n/a" not in chromium.evaluate("document.body.innerText")
    assert chromium.errors() == []
