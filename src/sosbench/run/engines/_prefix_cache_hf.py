"""``sos-hf``: lm-eval's ``hf`` model with shared-prefix key/value reuse and token-budget batches.

Why a subclass rather than a new model: everything that decides *what* is scored (tokenisation,
chat templates, context/continuation splitting, truncation, generation) stays lm-eval's own
``HFLM`` code, so scores equal the ``hf`` model's. Only ``_loglikelihood_tokens`` (how the
windows are run) and the routing of ``generate_until`` change.

How the work is cut: see :mod:`sosbench.run.engines._plan`. Each shared segment runs once with
``use_cache=True``; the rows below it run with that cache gathered row by row, an attention mask
that hides the padding inside the cached part, and explicit position ids, so every scored logit
sees exactly the tokens it sees in ``hf``'s single forward pass.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import torch
import torch.nn.functional as F
from lm_eval.models.huggingface import HFLM
from tqdm import tqdm
from transformers import DynamicCache

from sosbench.errors import SosbenchError, require

try:
    from transformers.cache_utils import DynamicLayer
except ImportError as missing:  # the per-layer cache API arrived in transformers 4.56
    raise SosbenchError("sos-hf needs transformers>=4.56: run `pip install -U transformers`") from missing
from sosbench.run.engines._plan import Item, Leaf, Segment, plan, scoring_window
from sosbench.run.engines._vllm import refuse_gguf, vllm_model_args

logger = logging.getLogger(__name__)

MODEL_NAME = "sos-hf"
DEFAULT_MAX_BATCH_TOKENS = 8192
DEFAULT_MIN_SHARED_TOKENS = 16
MAX_PADDING = 0.25  # largest share of padding in a batch's new tokens
# --generate-backend value -> (lm-eval model name, module that must be importable, sosbench extra)
GENERATE_BACKENDS: dict[str, tuple[str, str, str]] = {
    "vllm": ("vllm", "vllm", "vllm"),
    "sglang": ("sglang", "sglang", "sglang"),
}
_BACKEND_OPTION_PREFIX = "generate_"
# Model args of sos-hf that the generation backend receives too (lm-eval's vllm and sglang take them).
SHARED_BACKEND_ARGS = ("dtype", "trust_remote_code")


@dataclass
class TokenCounts:
    """Work done by the model so far; benchmarks read it. ``tokens`` includes padding."""

    forward_calls: int = 0
    tokens: int = 0
    scored_requests: int = 0

    def add_forward(self, rows: int, width: int) -> None:
        self.forward_calls += 1
        self.tokens += rows * width


@dataclass
class _Block:
    """Keys/values of one batch of segments: row ``i`` holds everything above segment row ``i``."""

    cache: DynamicCache
    mask: torch.Tensor  # [rows, cached width]: 1 for real tokens, 0 for padding inside the cache
    lengths: torch.Tensor  # [rows]: real tokens per row (the next position id)

    @property
    def width(self) -> int:
        return int(self.mask.shape[1])

    def select(self, rows: torch.Tensor) -> DynamicCache:
        """A fresh cache holding the given rows (the forward pass appends to it, never in place).

        Rows of one parent are a broadcast view, not a copy: the cache's own concatenation with
        the new keys is then the only copy made.
        """
        first = int(rows[0])
        one_parent = bool((rows == first).all())

        def pick(states: torch.Tensor) -> torch.Tensor:
            if one_parent:
                return states[first : first + 1].expand(len(rows), *states.shape[1:])
            return states.index_select(0, rows)

        # Layers filled by assignment: DynamicCache(ddp_cache_data=...) would concatenate (copy) once more.
        cache = DynamicCache(ddp_cache_data=[(None, None)] * len(self.cache.layers))
        layers: list[Any] = list(cache.layers)  # DynamicLayer here; the stubs name every cache layer kind
        sources: list[Any] = list(self.cache.layers)
        for layer, source in zip(layers, sources, strict=True):
            keys, values = pick(source.keys), pick(source.values)
            layer.lazy_initialization(keys, values)
            layer.keys, layer.values = keys, values
        return cache


@dataclass
class _Batch:
    items: list[Item]
    parent_rows: list[int] = field(default_factory=list)


class PrefixCacheHFLM(HFLM):
    """lm-eval ``hf`` model that runs each shared context once and batches by a token budget.

    Extra model args (``--model_args``):

    * ``max_batch_tokens`` (default 8192): a batch holds rows until rows x (cached width + padded
      new tokens) would pass this budget; it bounds both the activations and the copied cache.
    * ``min_shared_tokens`` (default 16): shorter shared segments are recomputed per row.
    * ``generate_backend`` (``hf``, ``vllm`` or ``sglang``): who answers ``generate_until``;
      other args named ``generate_<option>`` go to that backend as ``<option>``.
    """

    def __init__(
        self,
        *args: Any,
        max_batch_tokens: int | str = DEFAULT_MAX_BATCH_TOKENS,
        min_shared_tokens: int | str = DEFAULT_MIN_SHARED_TOKENS,
        generate_backend: str | None = None,
        **kwargs: Any,
    ) -> None:
        backend_options = {
            key[len(_BACKEND_OPTION_PREFIX) :]: kwargs.pop(key)
            for key in list(kwargs)
            if key.startswith(_BACKEND_OPTION_PREFIX)
        }
        self.max_batch_tokens = _positive_int("max_batch_tokens", max_batch_tokens)
        self.min_shared_tokens = _positive_int("min_shared_tokens", min_shared_tokens)
        self.generate_backend_name = _check_generate_backend(generate_backend, backend_options)
        if self.generate_backend_name == "vllm":  # before the HF weights load: vLLM reads no GGUF file
            refuse_gguf({"gguf_file": kwargs.get("gguf_file")}, f"{MODEL_NAME} generate_backend=vllm")
        # The backend loads the same weights as the same dtype unless told otherwise (generate_dtype=...).
        shared = {key: kwargs[key] for key in SHARED_BACKEND_ARGS if kwargs.get(key) not in (None, "auto")}
        self.generate_backend_options = {**shared, **backend_options}
        self._generator: Any = None
        self._longest_generation: int | None = None
        super().__init__(*args, **kwargs)
        self.token_counts = TokenCounts()
        self._cache_arg = _cache_argument_name(self.model)
        self._keeps_logits = "logits_to_keep" in inspect.signature(self.model.forward).parameters
        self._prefix_cache = self.backend == "causal" and _plain_dynamic_cache(self.model.config)
        if not self._prefix_cache:
            logger.warning(
                "%s: this model's attention cache is not a plain full-attention cache; "
                "loglikelihood requests run without prefix reuse (as lm-eval's hf model does)",
                MODEL_NAME,
            )

    # ------------------------------------------------------------------ loglikelihood

    def _loglikelihood_tokens(
        self,
        requests: list[tuple[tuple[str, str] | None, list[int], list[int]]],
        disable_tqdm: bool = False,
        override_bs: int | None = None,
    ) -> list[tuple[float, bool]]:
        if not self._prefix_cache:
            return super()._loglikelihood_tokens(requests, disable_tqdm=disable_tqdm, override_bs=override_bs)
        windows = []
        for _, context, continuation in requests:
            _check_request(context, continuation, self.max_length)
            windows.append(scoring_window(context, continuation, self.max_length))
        results: list[tuple[float, bool] | None] = [None] * len(requests)
        progress = tqdm(
            total=len(requests),
            disable=(disable_tqdm or self.rank != 0),
            desc="Running loglikelihood requests (sos-hf)",
        )
        self._run([(item, None) for item in plan(windows, self.min_shared_tokens)], None, results, progress)
        progress.close()
        for (request, _, _), answer in zip(requests, results, strict=True):
            if request is not None:
                self.cache_hook.add_partial("loglikelihood", request, answer)
        return results  # type: ignore[return-value]

    def _run(
        self,
        pairs: Sequence[tuple[Item, int | None]],
        parent: _Block | None,
        results: list[tuple[float, bool] | None],
        progress: tqdm,
    ) -> None:
        """Score the leaves, then run each batch of segments and recurse into what hangs below."""
        leaves = [(item, row) for item, row in pairs if isinstance(item, Leaf)]
        segments = [(item, row) for item, row in pairs if isinstance(item, Segment)]
        for batch in self._batches(leaves, parent):
            self._score(batch, parent, results, progress)
        for batch in self._batches(segments, parent):
            block = self._extend(batch, parent)
            below = [
                (child, row)
                for row, segment in enumerate(batch.items)
                for child in segment.children  # type: ignore[union-attr]
            ]
            self._run(below, block, results, progress)

    def _batches(self, pairs: Sequence[tuple[Item, int | None]], parent: _Block | None) -> Iterator[_Batch]:
        """Longest rows first (a too-large budget fails at once), packed while the batch fits.

        A batch closes when rows x (cached width + widest row) would pass ``max_batch_tokens``,
        or when padding would pass ``MAX_PADDING`` of its new tokens (rows of very different
        lengths, e.g. user prompts below one shared instruction, go to separate batches).
        """
        cached = parent.width if parent is not None else 0
        batch, widest, real = _Batch([]), 0, 0
        for item, row in sorted(pairs, key=lambda pair: -len(pair[0].tokens)):
            length = len(item.tokens)
            rows = len(batch.items) + 1
            too_big = rows * (cached + widest) > self.max_batch_tokens
            too_padded = rows * widest - (real + length) > MAX_PADDING * rows * widest
            if batch.items and (too_big or too_padded):
                yield batch
                batch, widest, real = _Batch([]), 0, 0
            widest = max(widest, length)
            real += length
            batch.items.append(item)
            batch.parent_rows.append(row if row is not None else 0)
        if batch.items:
            yield batch

    def _forward(
        self, batch: _Batch, parent: _Block | None, keep: int, use_cache: bool
    ) -> tuple[Any, torch.Tensor]:
        """One model call on right-padded rows below ``parent``; returns the output and the row mask."""
        lengths = torch.tensor([len(item.tokens) for item in batch.items], device=self.device)
        width = int(lengths.max())
        ids = torch.zeros((len(batch.items), width), dtype=torch.long)
        for row, item in enumerate(batch.items):
            ids[row, : len(item.tokens)] = torch.tensor(item.tokens, dtype=torch.long)
        ids = ids.to(self.device)
        own_mask = (torch.arange(width, device=self.device)[None, :] < lengths[:, None]).long()
        kwargs: dict[str, Any] = {"use_cache": use_cache or parent is not None}
        if parent is not None:
            rows = torch.tensor(batch.parent_rows, device=self.device)
            kwargs[self._cache_arg] = parent.select(rows)
            kwargs["attention_mask"] = torch.cat([parent.mask.index_select(0, rows), own_mask], dim=1)
            kwargs["position_ids"] = parent.lengths.index_select(0, rows)[:, None] + torch.arange(
                width, device=self.device
            )
        if self._keeps_logits:
            kwargs["logits_to_keep"] = keep
        self.token_counts.add_forward(len(batch.items), width)
        with (
            torch.no_grad(),
            torch.autocast(
                device_type=self.device.type,
                dtype=self.mixed_precision_dtype,
                enabled=self.mixed_precision_dtype is not None,
            ),
        ):
            return self.model(input_ids=ids, **kwargs), own_mask

    def _extend(self, batch: _Batch, parent: _Block | None) -> _Block:
        """Run shared segments and keep their keys and values (no logits are needed from them)."""
        output, own_mask = self._forward(batch, parent, keep=1, use_cache=True)
        cache = getattr(output, self._cache_arg)
        lengths = own_mask.sum(dim=1)
        if parent is None:
            return _Block(cache, own_mask, lengths)
        rows = torch.tensor(batch.parent_rows, device=self.device)
        return _Block(
            cache,
            torch.cat([parent.mask.index_select(0, rows), own_mask], dim=1),
            parent.lengths.index_select(0, rows) + lengths,
        )

    def _score(
        self,
        batch: _Batch,
        parent: _Block | None,
        results: list[tuple[float, bool] | None],
        progress: tqdm,
    ) -> None:
        """Run leaf rows and score each target exactly as ``HFLM._loglikelihood_tokens`` does."""
        width = max(len(item.tokens) for item in batch.items)
        first_scored = min(len(item.tokens) - item.n_scored for item in batch.items)  # type: ignore[union-attr]
        keep = width - first_scored
        output, _ = self._forward(batch, parent, keep=keep, use_cache=False)
        logits = output.logits[:, -keep:] if self._keeps_logits else output.logits
        offset = logits.shape[1] - width  # where padded position 0 sits in `logits`
        for row, item in enumerate(batch.items):
            leaf = cast(Leaf, item)  # _run batches leaves and segments apart
            end = offset + len(leaf.tokens)
            log_probs = F.log_softmax(
                logits[row, end - leaf.n_scored : end], dim=-1, dtype=self.softmax_dtype
            )
            greedy = log_probs.argmax(dim=-1)
            for target in leaf.targets:
                continuation = torch.tensor(target.continuation, dtype=torch.long, device=log_probs.device)
                scored = log_probs[-len(continuation) :]
                logprob = torch.gather(scored, 1, continuation[:, None]).sum()
                results[target.request] = (
                    float(logprob),
                    bool((greedy[-len(continuation) :] == continuation).all()),
                )
                self.token_counts.scored_requests += 1
                progress.update(1)

    # ------------------------------------------------------------------ batch_size=auto

    def _detect_batch_size(self, requests: Sequence | None = None, pos: int = 0) -> int:
        """``batch_size=auto`` without ``hf``'s probe: the rows that fit ``max_batch_tokens``.

        ``hf`` runs 5 passes of ``max_batch_size`` rows at the longest length and keeps the
        largest that does not fail; on CPU nothing fails, it only grows (64 rows x 2,048 tokens x
        a 49k vocabulary is 26 GB of logits). Here the batch is ``max_batch_tokens`` divided by
        the longest length (the longest generation request's prompt plus its new tokens, or
        ``max_length`` when unknown), at least 1 and at most ``max_batch_size``.
        """
        if requests:
            _, context, continuation = requests[pos]
            length = len((context + continuation)[-(self.max_length + 1) :][:-1])
        else:
            length = self._longest_generation or self.max_length
        rows = max(1, self.max_batch_tokens // max(1, length))
        return min(rows, self.max_batch_size) if self.max_batch_size else rows

    # ------------------------------------------------------------------ generation

    def generate_until(self, requests: list[Any], disable_tqdm: bool = False) -> list[str]:
        """HFLM's own generation, or the configured vLLM/SGLang model for the same weights."""
        if self.generate_backend_name is None:
            self._longest_generation = _longest_generation(self, requests)
            try:
                return super().generate_until(requests, disable_tqdm=disable_tqdm)
            finally:
                self._longest_generation = None
        return self.generation_backend().generate_until(requests, disable_tqdm=disable_tqdm)

    def generation_backend(self) -> Any:
        """The generation model, created on first use (it loads the weights a second time)."""
        if self._generator is None:
            from lm_eval.api.registry import get_model

            if not isinstance(self.pretrained, str):
                raise SosbenchError(
                    f"{MODEL_NAME}: generate_backend needs `pretrained` as a model name or folder, "
                    "not a model object"
                )
            name = GENERATE_BACKENDS[str(self.generate_backend_name)][0]
            options = {
                "pretrained": self.pretrained,
                "revision": self.revision,
                **self.generate_backend_options,
            }
            if name == "vllm":
                options = vllm_model_args(options, f"{MODEL_NAME} generate_backend=vllm")
            self._generator = get_model(name)(**options)
        return self._generator


def _positive_int(name: str, value: int | str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number <= 0:
        raise SosbenchError(f"{MODEL_NAME}: model arg {name}={value!r} must be a positive whole number")
    return number


def _check_generate_backend(name: str | None, options: dict[str, Any]) -> str | None:
    """Validate the generation backend early, so a missing package fails before hours of scoring."""
    if name in (None, "", "hf"):
        if options:
            raise SosbenchError(
                f"{MODEL_NAME}: model args {', '.join(_BACKEND_OPTION_PREFIX + k for k in options)} "
                "need generate_backend=vllm or generate_backend=sglang"
            )
        return None
    if name not in GENERATE_BACKENDS:
        raise SosbenchError(
            f"{MODEL_NAME}: generate_backend={name!r} is not one of hf, {', '.join(GENERATE_BACKENDS)}"
        )
    _, module, extra = GENERATE_BACKENDS[name]
    require(module, extra)
    return name


def _longest_generation(lm: HFLM, requests: list[Any]) -> int | None:
    """Tokens of the longest generation request: its prompt (as HFLM truncates it) plus max_gen_toks."""
    if not requests:
        return None
    longest = 0
    for request in requests:
        context, gen_kwargs = request.args[0], request.args[1]
        new_tokens = int(gen_kwargs.get("max_gen_toks", lm.max_gen_toks))
        prompt = len(lm.tok_encode(context))
        longest = max(longest, min(prompt, lm.max_length - new_tokens) + new_tokens)
    return min(longest, lm.max_length)


def _check_request(context: Sequence[int], continuation: Sequence[int], max_length: int) -> None:
    """The same preconditions HFLM asserts, as readable errors."""
    if not context or not continuation:
        raise SosbenchError(f"{MODEL_NAME}: a loglikelihood request has an empty context or continuation")
    if len(continuation) > max_length:
        raise SosbenchError(
            f"{MODEL_NAME}: a continuation of {len(continuation)} tokens is longer than "
            f"max_length={max_length}"
        )
    if len(context) + len(continuation) > max_length + 1:
        logger.warning(
            "%s: context (%d) + continuation (%d) exceeds max_length %d; truncating from the left",
            MODEL_NAME,
            len(context),
            len(continuation),
            max_length,
        )


def _cache_argument_name(model: Any) -> str:
    """``cache`` in transformers 5, ``past_key_values`` before."""
    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


def _plain_dynamic_cache(config: Any) -> bool:
    """Prefix reuse needs full-attention layers that keep every key (no sliding windows, no state)."""
    layers = DynamicCache(config=config).layers
    return bool(layers) and all(type(layer) is DynamicLayer for layer in layers)
