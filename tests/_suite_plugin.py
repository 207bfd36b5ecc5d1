"""A benchmark-suite plugin entry for tests: one lm-eval Safety benchmark, ``my-safety``.

Installed through a real ``sosbench.benchmarks`` entry point by the ``plugin_suite`` fixture (conftest.py).
"""

PLUGIN_ENTRY = (
    "  - name: my-safety\n    title: Mine\n    factor: Safety\n    engine: lm-eval\n"
    "    size: 10\n    metric: acc\n    datasets: [{id: me/data, configs: [null], splits: [test]}]\n"
    "    tasks: [my_task]\n    score: {keys: [my_task/acc], samples: [my_task]}\n"
)
