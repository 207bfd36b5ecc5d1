"""What a run will cost before it starts (`sosbench run --dry-run`): the work, and a throughput model.

The work of each benchmark is counted from the requests lm-eval would send, built from the run's own
task definitions and data (the mirror with ``--data-dir``) and tokenized with the model's own tokenizer
by lm-eval's own pair encoding (:class:`_Recorder`): documents, requests, prompt tokens, the tokens the
engine runs (``sos-hf`` shares prefixes, ``hf`` shares one-token continuations' contexts, vLLM runs
each prompt whole), and the generation budget (requests x ``max_gen_toks``). Where the data holds fewer
documents than the suite registry says the benchmark has (a sample mirror), the counts are scaled up
to the registry's size and marked ``extrapolated``.

Time is predicted from four measured or stated figures (:class:`Throughput`): prefill tokens/s,
decode tokens/s, model load seconds, and the share of its generation budget a model uses.
``calibrate`` measures them on the real model and engine with a short probe of the run's own first
requests; without it, per-engine reference figures scaled by parameter count are used and say so.
Setting up each benchmark (loading its data and building its requests) is timed while counting and
is part of the prediction, since the run repeats it.

Three modules: ``_work`` counts what each benchmark asks of the engine, ``_rates`` holds the figures
of the throughput model (reference or calibrated), and ``_estimate`` puts them together per model and
prints them.
"""

from sosbench.run._cost._estimate import Estimate, describe, estimate
from sosbench.run._cost._rates import Throughput, parse_throughput

__all__ = ["Estimate", "Throughput", "describe", "estimate", "parse_throughput"]
