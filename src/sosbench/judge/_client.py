"""Chat clients: the one place that creates OpenAI clients, plus a local Hugging Face model behind the same call.

Every judge call, answer generation and rewrite goes through :class:`ChatCaller`, which bounds concurrency
with a semaphore and retries transient failures (HTTP 429, 5xx, timeouts, dropped connections) with
exponential backoff and full jitter, waiting at least as long as a ``Retry-After`` header asks.

Why not the openai client's own retries: its delays are fixed class constants (0.5 s to 8 s), and tests and
rate-limited users need to set them. The retry loop itself is tenacity's; only the policy lives here.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from sosbench.errors import SosbenchError, require


@dataclass(frozen=True)
class EndpointConfig:
    """How to reach an OpenAI-compatible chat endpoint and how hard to push it."""

    model: str
    base_url: str | None = None  # None: $OPENAI_BASE_URL or api.openai.com
    api_key: str | None = None  # None: $OPENAI_API_KEY
    timeout: float = 300.0
    max_retries: int = 8
    backoff: float = 1.0  # first retry waits up to this many seconds; doubles each retry
    backoff_max: float = 60.0
    concurrency: int = 8


@dataclass(frozen=True)
class Completion:
    """One chat completion: its text and the token usage the server reported."""

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0


class ChatModel(Protocol):
    async def complete(self, messages: list[dict], *, temperature: float, max_tokens: int) -> Completion: ...


def make_async_client(config: EndpointConfig) -> Any:
    """An ``openai.AsyncOpenAI`` for the endpoint; the client's own retries are off (see module docstring)."""
    require("openai", "judge")
    import openai

    api_key = config.api_key or os.environ.get("OPENAI_API_KEY")
    if not api_key:
        raise SosbenchError(
            "no API key: pass --api-key (or set its environment variable, see --help) or set OPENAI_API_KEY"
        )
    return openai.AsyncOpenAI(
        base_url=config.base_url or os.environ.get("OPENAI_BASE_URL") or None,
        api_key=api_key,
        timeout=config.timeout,
        max_retries=0,
    )


def is_transient(exc: BaseException) -> bool:
    """Worth retrying: rate limits, server errors, timeouts and connection failures."""
    import openai

    if isinstance(exc, (openai.APITimeoutError, openai.APIConnectionError, asyncio.TimeoutError)):
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in (408, 409, 429) or exc.status_code >= 500
    return False


def retry_after_seconds(exc: BaseException) -> float:
    """The server's ``Retry-After`` (or ``retry-after-ms``) in seconds, 0 when absent or unreadable."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or {}
    try:
        if "retry-after-ms" in headers:
            return float(headers["retry-after-ms"]) / 1000.0
        if "retry-after" in headers:
            return float(headers["retry-after"])
    except ValueError:  # an HTTP date: rare for these APIs; fall back to backoff
        return 0.0
    return 0.0


def endpoint_error(exc: BaseException) -> BaseException:
    """An API failure as a one-line :class:`SosbenchError` (other exceptions are returned unchanged).

    Non-retryable refusals (bad key, unknown model, bad request) name the options to check; transient
    failures that outlasted every retry say that a rerun resumes.
    """
    try:
        transient = is_transient(exc)
    except ImportError:  # openai missing: nothing of ours raised this
        return exc
    if transient:
        return SosbenchError(
            f"the endpoint kept failing ({exc.__class__.__name__}) after every retry; "
            "rerun the same command to resume (finished work is kept)"
        )
    status = getattr(exc, "status_code", None)
    if status is not None:
        message = (getattr(exc, "message", None) or str(exc)).splitlines()[0][:200]
        return SosbenchError(
            f"the endpoint refused a request (HTTP {status}: {message}); check the model name, --base-url and --api-key"
        )
    return exc


async def gather_tolerant(items: list[Any], one: Callable[[Any], Awaitable[None]], describe: Callable[[Any], str]) -> list[str]:
    """Run ``one(item)`` for all items concurrently.

    A transient failure that outlasted its retries is recorded (``describe(item): ErrorName``) and the others
    go on; any other failure cancels the rest and is raised (through :func:`endpoint_error`).
    """
    failed: list[str] = []

    async def guarded(item: Any) -> None:
        try:
            await one(item)
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


class ChatCaller:
    """Async chat completions against one OpenAI-compatible endpoint, bounded and retried."""

    def __init__(self, config: EndpointConfig) -> None:
        require("tenacity", "judge")
        self.config = config
        self._client = make_async_client(config)
        self._semaphore: asyncio.Semaphore | None = None

    async def complete(self, messages: list[dict], *, temperature: float, max_tokens: int) -> Completion:
        """One completion; transient failures are retried, anything else raises."""
        from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_random_exponential

        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.config.concurrency)
        jitter = wait_random_exponential(multiplier=self.config.backoff, max=self.config.backoff_max)

        def wait(state: Any) -> float:
            exc = state.outcome.exception() if state.outcome else None
            return max(jitter(state), retry_after_seconds(exc) if exc else 0.0)

        retrying = AsyncRetrying(
            retry=retry_if_exception(is_transient),
            wait=wait,
            stop=stop_after_attempt(self.config.max_retries + 1),
            reraise=True,
        )
        async with self._semaphore:
            async for attempt in retrying:
                with attempt:
                    return await self._call(messages, temperature, max_tokens)
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    async def _call(self, messages: list[dict], temperature: float, max_tokens: int) -> Completion:
        response = await self._client.chat.completions.create(
            model=self.config.model, messages=messages, temperature=temperature, max_tokens=max_tokens, n=1
        )
        text = response.choices[0].message.content or ""
        usage = response.usage
        return Completion(
            text,
            int(getattr(usage, "prompt_tokens", 0) or 0),
            int(getattr(usage, "completion_tokens", 0) or 0),
        )

    async def aclose(self) -> None:
        await self._client.close()


class LocalHFChat:
    """A local Hugging Face causal LM answering chat messages greedily (``judge answer --hf``).

    Generation runs one request at a time in a worker thread, so the event loop keeps writing results.
    """

    def __init__(self, model_path: str, device: str | None = None) -> None:
        require("transformers", "hf")
        require("torch", "hf")
        from transformers import AutoModelForCausalLM, AutoTokenizer

        try:
            self._tokenizer = AutoTokenizer.from_pretrained(model_path)
            self._model = AutoModelForCausalLM.from_pretrained(model_path)
        except OSError as exc:
            raise SosbenchError(f"--hf {model_path}: cannot load a model there ({exc.__class__.__name__})") from exc
        if device:
            self._model.to(device)
        self._model.eval()
        if getattr(self._tokenizer, "chat_template", None) is None:
            raise SosbenchError(f"--hf {model_path}: the tokenizer has no chat template; use an instruct model")
        self._lock = asyncio.Lock()

    async def complete(self, messages: list[dict], *, temperature: float, max_tokens: int) -> Completion:
        async with self._lock:
            return await asyncio.to_thread(self._generate, messages, max_tokens)

    def _generate(self, messages: list[dict], max_tokens: int) -> Completion:
        import torch

        ids = self._tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
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
