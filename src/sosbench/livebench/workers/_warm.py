"""Imported once by the process-pool's fork server, so every scoring worker starts with the heavy
scorer libraries already loaded (lm-eval's IFEval module alone takes seconds to import)."""

from __future__ import annotations

import contextlib

import pandas  # noqa: F401 - tablereformat
import rapidfuzz.distance  # noqa: F401 - olympiad, plot_unscrambling

import sosbench.livebench.scorers  # noqa: F401

with contextlib.suppress(Exception):  # optional: a worker then imports (and reports) it itself
    from sosbench.livebench.scorers._punkt import ensure_punkt_tab

    ensure_punkt_tab()
    import lm_eval.tasks.ifeval.utils  # noqa: F401
