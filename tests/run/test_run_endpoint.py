"""`sosbench run --model local-completions` against OpenAI-compatible servers that refuse lm-eval's requests.

The server here (tests/_fake_endpoint.py) is a small stdlib HTTP server on loopback that behaves like
the real ones met in issue 12: one answers without prompt logprobs (``KeyError: 'logprobs'`` in lm-eval),
one rejects ``echo`` with 400 Bad Request, one rejects IFEval's ``"stop": []`` with HTTP 500. Each must end
in one line that says what to do, and units the server can serve must still finish.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
from _cli import sosbench
from _fake_endpoint import CompletionsServer


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[CompletionsServer]:
    with CompletionsServer(request.param) as httpd:
        yield httpd


def run(
    server: ThreadingHTTPServer, mirror: Path, out: Path, benchmarks: str, tokenizer: str
) -> subprocess.CompletedProcess[str]:
    url = f"http://127.0.0.1:{server.server_address[1]}/v1/completions"
    args = f"model=tiny,base_url={url},{tokenizer},max_retries=1"
    return sosbench(
        "run",
        "--model",
        "local-completions",
        "--model-args",
        args,
        "--batch-size",
        "1",
        "--benchmarks",
        benchmarks,
        "--limit",
        "2",
        "--gen-kwargs",
        "max_gen_toks=8",
        "--data-dir",
        str(mirror),
        "--output",
        str(out),
    )


def error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The run's one `error:` line (lm-eval's progress bars print around it)."""
    assert result.returncode == 1, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr[-3000:]
    return errors[0]


@pytest.mark.slow
@pytest.mark.parametrize("server", ["no-logprobs", "rejects-echo"], indirect=True)
def test_multiple_choice_against_an_endpoint_without_prompt_logprobs(
    server: ThreadingHTTPServer, tiny_model: Path, sample_mirror: Path, tmp_path: Path
) -> None:
    """Was `KeyError: 'logprobs'` or `400 Bad Request` plus "rerun the same command"."""
    out = tmp_path / "run"
    result = run(
        server, sample_mirror, out, "xstest,ifeval", f"tokenizer_backend=huggingface,tokenizer={tiny_model}"
    )
    line = error_line(result)
    url = f"http://127.0.0.1:{server.server_address[1]}/v1/completions"
    assert line.startswith(f"error: the endpoint {url} returns no prompt logprobs, which xstest needs")
    assert "generation-only benchmarks" in line and "llama.cpp's llama-server" in line
    assert "rerun the same command" not in line
    if server.behaviour == "rejects-echo":  # type: ignore[attr-defined]
        assert "echo is not supported with logprobs" in line  # the server's own reason
    echoed = [r for r in server.requests if r.get("echo")]  # type: ignore[attr-defined]
    assert len(echoed) == 1  # an input error: not retried by lm-eval's retries nor by ours
    assert (out / "ifeval" / "done.json").exists()  # the generation benchmark the server can serve finished
    assert not (out / "xstest").exists()


@pytest.mark.slow
@pytest.mark.parametrize("server", ["rejects-empty-stop"], indirect=True)
def test_empty_stop_list_rejected_names_eos_string(
    server: ThreadingHTTPServer, sample_mirror: Path, tmp_path: Path
) -> None:
    """lm-eval sends `"stop": []` for IFEval when it knows no EOS string; the server answered HTTP 500."""
    result = run(server, sample_mirror, tmp_path / "run", "ifeval", "tokenizer_backend=None")
    line = error_line(result)
    assert '"stop": [], HTTP 500' in line and "add eos_string=" in line and "ifeval" in line
    assert len(server.requests) == 1  # type: ignore[attr-defined]
    fixed = run(server, sample_mirror, tmp_path / "run", "ifeval", "tokenizer_backend=None,eos_string=</s>")
    assert fixed.returncode == 0, fixed.stderr[-3000:]
    assert server.requests[-1]["stop"] == ["</s>"]  # type: ignore[attr-defined]
