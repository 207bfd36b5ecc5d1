"""Chat clients: the one place that creates OpenAI clients, and a local Hugging Face model behind one call.

Every judge call, answer generation and rewrite goes through :class:`ChatCaller`, which bounds concurrency
with a semaphore and retries transient failures (HTTP 429, 5xx, timeouts, dropped connections) with
exponential backoff and full jitter, waiting at least as long as a ``Retry-After`` header asks (capped).
Each request runs under a deadline for the whole of it (``--timeout``): past it the request is cancelled,
closing its connection, and counted. The raw reply is parsed here, so a reply that is not a chat
completion is a :class:`ReplyError` of its item rather than a traceback, and one longer than
``max_tokens`` allows is cut. Refusals show the server's reason with API keys redacted.

Every reply body, error bodies included, is capped at the transport (:func:`reply_byte_cap`, derived from
``max_tokens``): an httpx response hook swaps the body stream for one that decompresses it itself (gzip
or deflate, the only encodings asked for) and counts the decoded bytes as they arrive, so a reply over
the cap, a gzip bomb among them, ends as a :class:`ReplyError` of its item after at most the cap in
memory, and ``--parallel N`` holds at most N caps. A hook rather than a custom transport: the client keeps
httpx's own transport, connection limits and proxies from the environment (httpx ignores HTTPS_PROXY once
a transport is passed), the hook sees every response, error replies and redirects included, and the
openai client never sees an unbounded body. Streaming the completion instead would bound only the
success path: openai reads an error body whole.

Why not the openai client's own retries: its delays are fixed class constants (0.5 s to 8 s), and tests and
rate-limited users need to set them. The retry loop itself is tenacity's; only the policy lives here.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import os
import re
import sys
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from sosbench._io import LONE_SURROGATE, MAX_DEPTH, check_depth
from sosbench.errors import SosbenchError, require


@dataclass(frozen=True)
class EndpointConfig:
    """How to reach an OpenAI-compatible chat endpoint and how hard to push it."""

    model: str
    base_url: str | None = None  # None: $OPENAI_BASE_URL or api.openai.com
    api_key: str | None = None  # None: $OPENAI_API_KEY
    timeout: float = 300.0  # a whole request, headers to last byte; then it is cancelled
    max_retries: int = 8
    backoff: float = 1.0  # first retry waits up to this many seconds; doubles each retry
    backoff_max: float = 60.0  # also the cap on a server's Retry-After
    concurrency: int = 8


# A reply longer than max_tokens x this many characters cannot be a max_tokens-bounded completion (a token
# decodes to a few characters; 32 leaves room for runs of whitespace or symbols): the server ignored
# max_tokens, and the reply is cut there instead of being stored whole.
MAX_CHARS_PER_TOKEN = 32
# A character takes at most 6 bytes of JSON (a \\uXXXX escape), and the rest of a chat completion (ids,
# usage, a refusal or reasoning field) far less than the envelope allowed on top.
JSON_BYTES_PER_CHAR = 6
REPLY_ENVELOPE_BYTES = 1 << 20


def reply_byte_cap(max_tokens: int) -> int:
    """The most decoded bytes a reply body may have: what a ``max_tokens`` completion can take as JSON."""
    return max(max_tokens, 1) * MAX_CHARS_PER_TOKEN * JSON_BYTES_PER_CHAR + REPLY_ENVELOPE_BYTES


@dataclass(frozen=True)
class Completion:
    """One chat completion: its text and the token usage the server reported."""

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    truncated: bool = False  # cut at the size cap (see MAX_CHARS_PER_TOKEN)


@dataclass
class CallStats:
    """What the client layer absorbed during a command, for its summary line."""

    timeouts: int = 0  # requests cancelled after --timeout (then retried)
    retries: int = 0  # retries of any transient failure, timeouts included
    truncated: int = 0  # replies cut at the size cap


class ReplyError(Exception):
    """A reply that is no usable chat completion (not JSON, no ``choices``, null content).

    That one item fails and is listed (a rerun asks again); the others go on. It is not retried at once:
    at temperature 0 the same request tends to get the same reply.
    """


class ReplyTooLarge(ReplyError):
    """A reply body (decoded) over :func:`reply_byte_cap`: read no further, failed as its item."""


class ChatModel(Protocol):
    async def complete(self, messages: list[dict], *, temperature: float, max_tokens: int) -> Completion: ...

    async def aclose(self) -> None: ...


def _api_key(config: EndpointConfig) -> str | None:
    return config.api_key or os.environ.get("OPENAI_API_KEY")


DEFAULT_BASE_URL = "https://api.openai.com/v1"
CONNECT_TIMEOUT_S = 5.0


def check_reachable(base_url: str | None, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """One line when nothing answers at the endpoint's address, before a command writes anything.

    Without it, a dead server costs every request its retries and backoff, and ends in "rerun the same
    command", which cannot help. Only the TCP connection is tried: what the server says is the client's.
    """
    import socket
    import urllib.parse

    url = base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SosbenchError(f"--base-url {url!r} is not an http(s) URL: write it as http://HOST:PORT/v1")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise SosbenchError(f"--base-url {url!r}: the port is not a number") from None
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout):
            pass
    except OSError as exc:
        reason = exc.strerror or ("timed out" if isinstance(exc, TimeoutError) else type(exc).__name__)
        raise SosbenchError(
            f"cannot connect to {url} ({reason}): start the server there, or fix --base-url"
        ) from None


# The cap of the request in flight in this task (set by ChatCaller._call, read by the response hook); a
# request made outside it gets the cap of a 4096-token reply.
_REPLY_CAP: contextvars.ContextVar[int | None] = contextvars.ContextVar("reply_cap", default=None)
DEFAULT_CAP_TOKENS = 4096
# The encodings the client accepts, so the only ones it decodes (a server sending another one fails the item).
ACCEPT_ENCODING = "gzip, deflate"


class _BoundedDecoder:
    """Decode a body (identity, gzip or deflate) piece by piece, failing once it passes ``cap`` bytes.

    ``zlib``'s ``max_length`` bounds every piece, so even a gzip bomb is never decoded past the cap.
    """

    def __init__(self, encoding: str, cap: int) -> None:
        self.cap = cap
        self.total = 0
        self.encoding = encoding
        self._raw_deflate_tried = False
        if encoding in ("", "identity"):
            self._zlib = None
        elif encoding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._zlib = zlib.decompressobj()
        else:
            raise ReplyError(
                f"the reply is encoded as {encoding!r}, not {ACCEPT_ENCODING}: it cannot be read"
            )

    def _count(self, piece: bytes) -> bytes:
        self.total += len(piece)
        if self.total > self.cap:
            raise ReplyTooLarge(
                f"the reply is over {self.cap:,} bytes, more than max_tokens allows "
                "(did the server ignore max_tokens?); it was not read further"
            )
        return piece

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._zlib is None:
            yield self._count(data)
            return
        while data:
            try:
                piece = self._zlib.decompress(data, self.cap - self.total + 1)
            except zlib.error:
                if self.encoding != "deflate" or self.total or self._raw_deflate_tried:
                    raise ReplyError(f"the reply's {self.encoding} body is corrupt") from None
                self._raw_deflate_tried = True  # "deflate" sent without its zlib header, as some servers do
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                continue
            yield self._count(piece)
            data = self._zlib.unconsumed_tail

    def finish(self) -> bytes:
        """What the decompressor still holds at the end of the body (at most its window)."""
        return self._count(self._zlib.flush()) if self._zlib is not None else b""


def _capped_stream(stream: Any, base: type, encoding: str, cap: int) -> Any:
    """``stream`` (an httpx async byte stream) as one of ``base``'s kind yielding at most ``cap`` decoded
    bytes."""

    class CappedStream(base):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            decoder = _BoundedDecoder(encoding, cap)
            async for chunk in stream:
                for piece in decoder.feed(chunk):
                    if piece:
                        yield piece
            tail = decoder.finish()
            if tail:
                yield tail

        async def aclose(self) -> None:
            await stream.aclose()

    return CappedStream()


async def cap_reply_body(response: Any) -> None:
    """httpx response hook: decode the body here, bounded by the request's cap (see the module docstring).

    Runs before any byte of the body is read; the ``Content-Encoding`` and ``Content-Length`` headers go, so
    httpx sees a plain body and decodes nothing itself.
    """
    httpx_module = sys.modules[type(response).__module__.partition(".")[0]]
    encodings = [e.strip().lower() for e in response.headers.get_list("content-encoding", split_commas=True)]
    encodings = [e for e in encodings if e and e != "identity"]
    if len(encodings) > 1:
        raise ReplyError(
            f"the reply is encoded {len(encodings)} times ({', '.join(encodings)}): it cannot be read"
        )
    for header in ("content-encoding", "content-length"):
        if header in response.headers:
            del response.headers[header]
    response.stream = _capped_stream(
        response.stream,
        httpx_module.AsyncByteStream,
        encodings[0] if encodings else "",
        _REPLY_CAP.get() or reply_byte_cap(DEFAULT_CAP_TOKENS),
    )


def make_async_client(config: EndpointConfig) -> Any:
    """An ``openai.AsyncOpenAI`` for the endpoint: its own retries off (see the module docstring), every
    reply body capped as it streams in (:func:`cap_reply_body`)."""
    require("openai", "judge")
    import openai

    api_key = _api_key(config)
    if not api_key:
        raise SosbenchError(
            "no API key: pass --api-key (or set its environment variable, see --help) or set OPENAI_API_KEY"
        )
    http_client = openai.DefaultAsyncHttpxClient(
        headers={"Accept-Encoding": ACCEPT_ENCODING}, event_hooks={"response": [cap_reply_body]}
    )
    return openai.AsyncOpenAI(
        base_url=config.base_url or os.environ.get("OPENAI_BASE_URL") or None,
        api_key=api_key,
        timeout=config.timeout,
        max_retries=0,
        http_client=http_client,
    )


def _reply_error_in(exc: BaseException) -> ReplyError | None:
    """The :class:`ReplyError` the response hook raised, if ``exc`` is it or wraps it (older openai clients
    wrap any failure of a request in ``APIConnectionError``)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ReplyError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def sendable(messages: list[dict]) -> list[dict]:
    """``messages`` with lone UTF-16 surrogates (valid in JSON, stored as ``\\uXXXX`` escapes, but with no
    UTF-8 form to send) replaced by U+FFFD, the replacement character."""

    def clean(value: Any) -> Any:
        return LONE_SURROGATE.sub("\ufffd", value) if isinstance(value, str) else value

    return [{key: clean(value) for key, value in message.items()} for message in messages]


def is_transient(exc: BaseException) -> bool:
    """Worth retrying: rate limits, server errors, timeouts and connection failures."""
    import openai

    if isinstance(exc, (openai.APITimeoutError, openai.APIConnectionError, asyncio.TimeoutError)):
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in (408, 409, 429) or exc.status_code >= 500
    return False


def retry_after_seconds(exc: BaseException, cap: float) -> float:
    """The server's ``Retry-After`` (seconds or an HTTP date) or ``retry-after-ms``, at most ``cap``.

    0 when absent or unreadable.

    The cap keeps one server's "come back in an hour" from stalling a whole run: after ``cap`` seconds the
    request is tried again, and counts as one more retry.
    """
    import email.utils
    import time

    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or {}
    seconds = 0.0
    try:
        if "retry-after-ms" in headers:
            seconds = float(headers["retry-after-ms"]) / 1000.0
        elif "retry-after" in headers:
            value = headers["retry-after"]
            try:
                seconds = float(value)
            except ValueError:
                seconds = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
    except (TypeError, ValueError, OverflowError):
        return 0.0
    return min(max(seconds, 0.0), cap) if seconds == seconds else 0.0  # NaN reads as absent


_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=*-]+")  # RFC 6750 token characters
_KEY_LIKE = re.compile(r"\bsk-[A-Za-z0-9_-]{8,}")


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """``text`` without API keys: the given secrets, bearer tokens and ``sk-...`` keys become ``***``."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return _KEY_LIKE.sub("sk-***", _BEARER.sub(r"\1***", text))


def server_explanation(exc: BaseException) -> str:
    """What the server said about a refused request: the error body's message, else the body or the text."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        for key in ("message", "detail", "error", "msg"):
            value = body.get(key)
            if isinstance(value, dict):
                value = value.get("message", value)
            if isinstance(value, str) and value.strip():
                body = value
                break
            if value:
                body = json.dumps(value, ensure_ascii=False)
                break
        else:
            body = json.dumps(body, ensure_ascii=False)
    text = body if isinstance(body, str) and body.strip() else (getattr(exc, "message", None) or str(exc))
    return " ".join(str(text).split())[:300]


def endpoint_error(exc: BaseException, secrets: tuple[str, ...] = ()) -> BaseException:
    """An API failure as a one-line :class:`SosbenchError` (other exceptions are returned unchanged).

    Non-retryable refusals (bad key, unknown model, bad request) show the server's explanation and name the
    options to check; transient failures that outlasted every retry say that a rerun resumes. API keys are
    redacted, also when a server echoes them back.
    """
    try:
        transient = is_transient(exc)
    except ImportError:  # openai missing: nothing of ours raised this
        return exc
    reason = redact(server_explanation(exc), secrets)
    if transient:
        return SosbenchError(
            f"the endpoint kept failing ({exc.__class__.__name__}: {reason}) after every retry; "
            "rerun the same command to resume (finished work is kept)"
        )
    status = getattr(exc, "status_code", None)
    if status is not None:
        return SosbenchError(
            f"the endpoint refused a request (HTTP {status}: {reason}); "
            "check the model name, --base-url and --api-key"
        )
    return exc


async def gather_tolerant(
    items: list[Any],
    one: Callable[[Any], Awaitable[None]],
    describe: Callable[[Any], str],
    limit: int | None = None,
) -> list[str]:
    """Run ``one(item)`` for all items concurrently, at most ``limit`` at a time when given.

    A transient failure that outlasted its retries, or an unusable reply, is recorded
    (``describe(item): reason``) and the others go on; any other failure cancels the rest and is raised
    (through :func:`endpoint_error`).
    """
    failed: list[str] = []
    slots = asyncio.Semaphore(limit) if limit else None

    async def guarded(item: Any) -> None:
        try:
            if slots is None:
                await one(item)
            else:
                async with slots:
                    await one(item)
        except ReplyError as exc:
            failed.append(f"{describe(item)}: {exc}")
        except Exception as exc:
            if not is_transient(exc):
                raise
            failed.append(f"{describe(item)}: {exc.__class__.__name__}")

    pending = [asyncio.ensure_future(guarded(item)) for item in items]
    try:
        await asyncio.gather(*pending)
    except Exception as exc:
        for future in pending:
            future.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        raise endpoint_error(exc) from exc
    return failed


def parse_completion(body: bytes, max_tokens: int) -> Completion:
    """A chat completion's text and usage from the raw reply; an unusable reply is a :class:`ReplyError`.

    The text may hold any valid JSON string, lone surrogates included: the files it goes to escape them
    (``sosbench._io.json_text``).
    """
    try:
        data = json.loads(body)
        check_depth(data, "the reply")
    except (RecursionError, SosbenchError):
        raise ReplyError(f"the reply nests deeper than {MAX_DEPTH} levels: not a chat completion") from None
    except (UnicodeDecodeError, ValueError):
        start = " ".join(body[:60].decode("utf-8", "replace").split())
        raise ReplyError(
            f"the reply is not JSON (it starts {start!r}); is --base-url the /v1 endpoint?"
        ) from None
    choices = data.get("choices") if isinstance(data, dict) else None
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise ReplyError("the reply has no choices (not a chat completion)")
    message = choices[0].get("message")
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, str):
        finish = choices[0].get("finish_reason")
        raise ReplyError(f"the reply has no text (content {content!r}, finish_reason {finish!r})")
    cap = max_tokens * MAX_CHARS_PER_TOKEN
    usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}

    def tokens(key: str) -> int:
        value = usage.get(key)
        return value if isinstance(value, int) and value >= 0 else 0

    return Completion(content[:cap], tokens("prompt_tokens"), tokens("completion_tokens"), len(content) > cap)


class ChatCaller:
    """Async chat completions against one OpenAI-compatible endpoint, bounded and retried."""

    def __init__(self, config: EndpointConfig) -> None:
        require("tenacity", "judge")
        self.config = config
        self._client = make_async_client(config)
        self._secrets = tuple(s for s in (_api_key(config),) if s)
        self._semaphore: asyncio.Semaphore | None = None
        self.stats = CallStats()

    async def complete(self, messages: list[dict], *, temperature: float, max_tokens: int) -> Completion:
        """One completion; transient failures are retried, a refusal raises one redacted line."""
        from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_random_exponential

        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.config.concurrency)
        jitter = wait_random_exponential(multiplier=self.config.backoff, max=self.config.backoff_max)

        def wait(state: Any) -> float:
            exc = state.outcome.exception() if state.outcome else None
            self.stats.retries += 1
            return max(jitter(state), retry_after_seconds(exc, self.config.backoff_max) if exc else 0.0)

        retrying = AsyncRetrying(
            retry=retry_if_exception(is_transient),
            wait=wait,
            stop=stop_after_attempt(self.config.max_retries + 1),
            reraise=True,
        )
        async with self._semaphore:
            try:
                async for attempt in retrying:
                    with attempt:
                        return await self._call(messages, temperature, max_tokens)
            except (ReplyError, SosbenchError):
                raise
            except Exception as exc:
                if is_transient(exc):
                    raise
                raise endpoint_error(exc, self._secrets) from None
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    async def _call(self, messages: list[dict], temperature: float, max_tokens: int) -> Completion:
        """One HTTP request under a deadline for the whole of it: past --timeout it is cancelled, which closes
        the connection (the server sees the client leave), and counted."""
        import openai

        async def request() -> bytes:
            raw = await self._client.chat.completions.with_raw_response.create(
                model=self.config.model,
                messages=sendable(messages),
                temperature=temperature,
                max_tokens=max_tokens,
                n=1,
            )
            return await raw.http_response.aread()

        cap = _REPLY_CAP.set(reply_byte_cap(max_tokens))  # the task wait_for starts copies it
        try:
            body = await asyncio.wait_for(request(), self.config.timeout)
        except (asyncio.TimeoutError, openai.APITimeoutError):
            self.stats.timeouts += 1
            raise
        except Exception as exc:
            bad_reply = _reply_error_in(exc)
            if bad_reply is None:
                raise
            raise bad_reply from None
        finally:
            _REPLY_CAP.reset(cap)
        reply = parse_completion(body, max_tokens)
        self.stats.truncated += reply.truncated
        return reply

    async def aclose(self) -> None:
        await self._client.close()


class LocalHFChat:
    """A local Hugging Face causal LM answering chat messages greedily (``judge answer --hf``).

    Generation runs one request at a time in a worker thread, so the event loop keeps writing results.
    """

    _tokenizer: Any  # transformers' own annotations do not type-check through its Auto classes
    _model: Any

    def __init__(self, model_path: str, device: str | None = None) -> None:
        require("transformers", "hf")
        require("torch", "hf")
        from pathlib import Path

        from transformers import AutoModelForCausalLM, AutoTokenizer

        # A .gguf file: transformers reads (and dequantizes) it from its folder with gguf_file=.
        path = Path(model_path)
        source, gguf = (
            (str(path.parent), {"gguf_file": path.name}) if path.suffix == ".gguf" else (model_path, {})
        )
        try:
            self._tokenizer = AutoTokenizer.from_pretrained(source, **gguf)
            self._model = AutoModelForCausalLM.from_pretrained(source, **gguf)
        except OSError as exc:
            raise SosbenchError(
                f"--hf {model_path}: cannot load a model there ({exc.__class__.__name__})"
            ) from exc
        if device:
            self._model.to(device)
        self._model.eval()
        if getattr(self._tokenizer, "chat_template", None) is None:
            raise SosbenchError(
                f"--hf {model_path}: the tokenizer has no chat template; use an instruct model"
            )
        self._lock = asyncio.Lock()

    async def complete(self, messages: list[dict], *, temperature: float, max_tokens: int) -> Completion:
        async with self._lock:
            return await asyncio.to_thread(self._generate, messages, max_tokens)

    def _generate(self, messages: list[dict], max_tokens: int) -> Completion:
        import torch

        ids = self._tokenizer.apply_chat_template(
            sendable(messages), add_generation_prompt=True, return_tensors="pt", return_dict=True
        ).to(self._model.device)
        with torch.no_grad():
            out = self._model.generate(
                **ids, max_new_tokens=max_tokens, do_sample=False, pad_token_id=self._tokenizer.pad_token_id
            )
        new = out[0, ids["input_ids"].shape[1] :]
        text = self._tokenizer.decode(new, skip_special_tokens=True)
        return Completion(text, int(ids["input_ids"].shape[1]), int(new.shape[0]))

    async def aclose(self) -> None:
        return None
