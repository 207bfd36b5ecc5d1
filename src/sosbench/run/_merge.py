"""Merging a benchmark's shards into the files an unsharded run writes.

Per-sample records are the shards' own lines, put back in lm-eval's order (filter, then doc id).
Aggregates are not averaged across shards: lm-eval computes them again over all items, by
running its own evaluation with a model that answers every request with the response the shard
recorded. So task metrics, bootstrap stderrs, group aggregation (BBQ's size-weighted group),
configs and n-samples come out of the same lm-eval code as in an unsharded run.
"""

from __future__ import annotations

import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from lm_eval.api.instance import Instance
from lm_eval.api.model import LM

from sosbench._io import read_json_object, read_jsonl, write_json_atomic
from sosbench.errors import SosbenchError
from sosbench.run import _lmeval
from sosbench.run._config import RunConfig
from sosbench.rundir import RESULTS, RunDir, samples_files, shard_name, task_of_samples, write_samples
from sosbench.suite import Benchmark

# Keys of results.json computed over the items: taken from the replay. The rest (model, versions, dates)
# come from shard 0.
_FROM_REPLAY = (
    "results",
    "groups",
    "group_subtasks",
    "configs",
    "versions",
    "n-shot",
    "higher_is_better",
    "n-samples",
)


class ReplayLM(LM):
    """An lm-eval model that returns recorded responses, keyed by (task, doc id, request index)."""

    def __init__(self, responses: dict[tuple[str, int], list[list[Any]]]) -> None:
        super().__init__()
        self.responses = responses
        self.served: dict[tuple[str, int, int], int] = defaultdict(int)

    def _answer(self, requests: list[Instance]) -> list[Any]:
        out = []
        for req in requests:
            key = (str(req.task_name), int(req.doc_id or 0))
            if key not in self.responses:
                raise SosbenchError(
                    f"no shard holds doc {key[1]} of task {key[0]}: rerun to redo the missing shard"
                )
            served_key = (*key, req.idx)
            repeat = self.served[served_key]
            self.served[served_key] += 1
            out.append(self.responses[key][req.idx][repeat])
        return out

    def loglikelihood(self, requests: list[Instance]) -> list[Any]:
        return [tuple(r) for r in self._answer(requests)]

    def loglikelihood_rolling(self, requests: list[Instance]) -> list[Any]:
        return self._answer(requests)

    def generate_until(self, requests: list[Instance]) -> list[Any]:
        return self._answer(requests)


def merge(config: RunConfig, bench: Benchmark, shards: int, staging: Path) -> dict[str, Any]:
    """Write the merged results and per-sample logs of ``bench`` into ``staging``."""
    import lm_eval
    from lm_eval.utils import handle_non_serializable

    shard_dir = RunDir(config.output).shards(bench.name)
    folders = [shard_dir.benchmark(shard_name(k, shards)) for k in range(shards)]
    rows_by_task: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for folder in folders:
        for path in samples_files(folder):
            rows_by_task[task_of_samples(path)].extend(read_jsonl(path, "shard sample log"))
    responses: dict[tuple[str, int], list[list[Any]]] = {}
    for task, rows in rows_by_task.items():
        for row in rows:
            responses[(task, row["doc_id"])] = row["resps"]
    _lmeval.quiet_git_hash()
    with tempfile.TemporaryDirectory(prefix="sosbench-merge-") as workdir:
        manager, specs = _lmeval.prepare_tasks([bench], config, Path(workdir))
        replayed = lm_eval.simple_evaluate(
            model=ReplayLM(responses),
            tasks=specs[bench.name],
            task_manager=manager,
            limit=config.limit,
            log_samples=True,
            # prompts are not needed to replay responses; samples keep the shards' own
            apply_chat_template=False,
            gen_kwargs=config.gen_kwargs,
        )
    replayed.pop("samples", None)
    _lmeval._drop_wrapper(replayed, _lmeval.wrapper_group(bench))
    results = read_json_object(folders[0] / RESULTS, "shard results")
    results.update({k: replayed[k] for k in _FROM_REPLAY if k in replayed})
    results["config"]["limit"] = config.limit
    for task, rows in rows_by_task.items():
        filters = list(dict.fromkeys(row.get("filter") for row in rows))
        ordered = sorted(rows, key=lambda row: (filters.index(row.get("filter")), row["doc_id"]))
        if len({(row.get("filter"), row["doc_id"]) for row in ordered}) != len(ordered):
            raise SosbenchError(
                f"shards of {bench.name} hold a doc of {task} twice: delete {folders[0].parent} and rerun"
            )
        write_samples(staging, task, ordered)
    write_json_atomic(staging / RESULTS, results, default=handle_non_serializable)
    if config.wandb_args:
        _lmeval._log_wandb(config.wandb_args, results, dict(rows_by_task))
    return results
