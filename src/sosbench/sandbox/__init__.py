"""Running untrusted code: a bubblewrap sandbox with one memory, process and CPU budget per sandbox.

The public face: ``check_available`` (fail early with what to install; says which ``Budget`` sandboxes
get here), ``run_harness`` (start a script in a sandbox and exchange JSON lines with it, each bounded by
a ``ResultLine``), ``SandboxLimits`` and ``SandboxMode`` (the one list of modes). How bubblewrap is
invoked stays private. LiveBench's coding scorer is the user; nothing here knows about LiveBench.
"""

from __future__ import annotations

from sosbench.sandbox._channel import Frame, ResultLine
from sosbench.sandbox._limits import DEFAULT_LIMITS, Budget, SandboxLimits, SandboxMode, SandboxUnavailable
from sosbench.sandbox._run import check_available, run_harness

__all__ = [
    "DEFAULT_LIMITS",
    "Budget",
    "Frame",
    "ResultLine",
    "SandboxLimits",
    "SandboxMode",
    "SandboxUnavailable",
    "check_available",
    "run_harness",
]
