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
from _synthetic_runs import write_run_folder

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
    ]
    write_run_folder(root / "run-c", "my-dpo-v2")
    _change_items(root / "run-c" / "gpqa" / "samples_leaderboard_gpqa_main.jsonl")
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return {"html": html, "png": root / "png", "root": root}


def _change_items(path: Path) -> None:
    """Make two wrong items right and give every item a prompt and responses, for the per-item view."""
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    for row in rows:
        row.update(
            arguments={"gen_args_0": {"arg_0": f"Question {row['doc_id']}?"}}, target="B", resps=[["A"]]
        )
    for row in [r for r in rows if r["acc_norm"] == 0.0][:2]:
        row.update(acc_norm=1.0, resps=[["B"]])
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


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


def test_report_without_judge_scores_or_paper(tmp_path: Path) -> None:
    from sosbench.report import build_report_data, write_html_report
    from sosbench.scoring import score_paths

    write_run_folder(tmp_path / "run", "solo", with_samples=False)
    data = build_report_data(score_paths([tmp_path / "run"], bootstrap=0), None)
    out, figures = write_html_report(data, tmp_path / "solo.html")
    assert {f.name for f in figures} == {"factor_bars", "correlation_heatmap"}
    assert "No judge scores" in out.read_text()
    with pytest.raises(SosbenchError, match="nothing to report"):
        build_report_data(None, None)


def test_report_input_errors(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from sosbench.cli import app

    bad = tmp_path / "audit.json"
    bad.write_text('{"judges": [{"no_name": 1}]}')
    with pytest.raises(SosbenchError, match=r"audit\.json: not a judge audit"):
        read_audit(bad)
    result = CliRunner().invoke(app, ["report", "--html", str(tmp_path / "x.html")])
    assert result.exit_code == 1 and result.stderr.startswith("error: nothing to report")


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
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    expected = json.loads(result.stdout)["comparisons"][0]
    parsed = _ComparisonRows()
    parsed.feed(report_files["html"].read_text())
    assert len(parsed.rows) == len(expected["rows"])
    for cells, row in zip(parsed.rows, expected["rows"], strict=True):
        assert cells[0][0] == row["name"]
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
    # the per-item view: two differing items of gpqa, filterable by benchmark and searchable
    visible = (
        "Array.from(document.querySelectorAll('#items tbody tr'))"
        ".filter(r => r.style.display !== 'none').length"
    )
    assert chromium.evaluate(visible) == 2
    chromium.evaluate(
        "const s = document.getElementById('item-benchmark'); s.value = 'gpqa'; s.dispatchEvent(new "
        "Event('change'))"
    )
    assert chromium.evaluate(visible) == 2
    chromium.evaluate(
        "const q = document.getElementById('item-search'); q.value = 'no such text'; q.dispatchEvent(new "
        "Event('input'))"
    )
    assert chromium.evaluate(visible) == 0
    chromium.evaluate(
        "const r = document.getElementById('item-search'); r.value = document.querySelector('#items td.text')"
        ".textContent; r.dispatchEvent(new Event('input'))"
    )
    assert chromium.evaluate(visible) == 1
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
