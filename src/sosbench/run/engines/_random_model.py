"""Randomly initialised Llama models with a byte-level BPE tokenizer trained in memory.

Why: engine tests and speed projections need a real ``transformers`` model and tokenizer with no
hub access. A random model of the right shape costs the same compute per token as the trained
one, which is all a speed measurement needs. The tokenizer is trained on the text it will
encode (``tokenizers``' BPE trainer), so tokens per character stay realistic.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BOS, EOS = "<|begin_of_text|>", "<|end_of_text|>"
CHAT_TEMPLATE = (
    "{% for message in messages %}{{ '<|' + message['role'] + '|>\\n' + message['content'] + '\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}"
)


@dataclass(frozen=True)
class RandomModelSpec:
    """Shape of a random Llama; ``tokenizer_vocab`` caps the BPE vocabulary trained on the corpus."""

    hidden_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    intermediate_size: int
    vocab_size: int
    tokenizer_vocab: int
    max_position: int = 4096
    tie_embeddings: bool = False
    seed: int = 0


# Llama-3-8B's published shapes (config.json of meta-llama/Meta-Llama-3-8B).
LLAMA3_8B = RandomModelSpec(
    hidden_size=4096,
    num_layers=32,
    num_heads=32,
    num_kv_heads=8,
    intermediate_size=14336,
    vocab_size=128256,
    tokenizer_vocab=32000,
    max_position=8192,
)


def train_tokenizer(corpus: Iterable[str], vocab_size: int) -> Any:
    """A byte-level BPE tokenizer that adds BOS like Llama-3's, with a small chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[BOS, EOS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(corpus, trainer=trainer)
    bos_id = tokenizer.token_to_id(BOS)
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A $B", special_tokens=[(BOS, bos_id)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=EOS,
        chat_template=CHAT_TEMPLATE,
        model_max_length=1_000_000,
    )


def build_random_model(
    spec: RandomModelSpec,
    corpus: Iterable[str],
    *,
    dtype: str = "float32",
    device: str = "cpu",
    folder: Path | None = None,
) -> tuple[Any, Any]:
    """(model, tokenizer) with random weights; saved to ``folder`` when given (for ``pretrained=``)."""
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig

    tokenizer = train_tokenizer(corpus, spec.tokenizer_vocab)
    config = LlamaConfig(
        hidden_size=spec.hidden_size,
        num_hidden_layers=spec.num_layers,
        num_attention_heads=spec.num_heads,
        num_key_value_heads=spec.num_kv_heads,
        intermediate_size=spec.intermediate_size,
        vocab_size=max(spec.vocab_size, len(tokenizer)),
        max_position_embeddings=spec.max_position,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=spec.tie_embeddings,
    )
    torch.manual_seed(spec.seed)
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(config, dtype=getattr(torch, dtype))
    model.eval()
    if folder is not None:
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
    return model, tokenizer
