"""A tiny random causal LM with a real tokenizer and chat template, built offline in seconds.

Random weights make scores meaningless but exercise every code path of a real Hugging Face model:
tokenisation, chat templating, loglikelihoods and greedy generation.
"""

from __future__ import annotations

import json
from pathlib import Path

CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>\n{{ message['content'] }}<|end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
SPECIAL_TOKENS = ["<s>", "</s>", "<unk>", "<pad>", "<|end|>"]


def _training_text(shared_data: Path | None) -> list[str]:
    """Real benchmark text, so the tokenizer has sensible merges for the items it will see."""
    lines: list[str] = []
    if shared_data is not None:
        for path in sorted((shared_data / "samples").rglob("*.jsonl"))[:20]:
            lines.extend(path.read_text(encoding="utf-8").splitlines()[:10])
    return lines or ["The quick brown fox jumps over the lazy dog. Answer: A B C D yes no True False"] * 50


def build_tiny_model(
    path: Path, shared_data: Path | None = None, *, hidden: int = 64, layers: int = 2
) -> Path:
    """Write a random Llama (about 150k parameters) and its tokenizer to ``path``."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    path.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=1000, special_tokens=SPECIAL_TOKENS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(_training_text(shared_data), trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>", pad_token="<pad>"
    )
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(path)

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(fast),
        hidden_size=hidden,
        intermediate_size=hidden * 2,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        bos_token_id=fast.bos_token_id,
        eos_token_id=fast.eos_token_id,
        pad_token_id=fast.pad_token_id,
    )
    LlamaForCausalLM(config).save_pretrained(path)
    (path / "sosbench_tiny_model.json").write_text(json.dumps({"hidden": hidden, "layers": layers}))
    return path
