"""sos-hf against lm-eval's hf model on 2 CPU cores: tokens, wall time and scores.

Runs the multiple-choice side of SOS-Bench (safety yes/no tasks, BBQ, WMDP, MMLU-Pro 5-shot,
BBH 3-shot) on the sample data in ../shared/data/samples with a random Llama of about 36M
parameters (so model compute, not Python, dominates), first through ``hf`` with
``batch_size=auto``, then through ``sos-hf``, in one process on the same weights. Exits 1 if
any score or per-request loglikelihood differs. Goal: sos-hf uses at most 0.35 of hf's tokens
and is at least 2x faster.

    HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 .venv/bin/python benchmarks/lm_eval_speed.py
    .venv/bin/python benchmarks/lm_eval_speed.py --tasks speed_bbq_age speed_mmlu_pro --limit 10
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
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

    import torch

    from sosbench.run.engines import RandomModelSpec, build_random_model

    torch.set_num_threads(args.threads)
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


if __name__ == "__main__":
    sys.exit(main())
