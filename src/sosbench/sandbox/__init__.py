"""Running untrusted code: a bubblewrap sandbox with one memory, process and CPU budget per sandbox.

The public face is small: ``check_available`` (fail early, with what to install), ``run_harness`` (start
a script in a sandbox, talk JSON lines with it), ``SandboxLimits`` and ``SandboxMode``. How bubblewrap is
invoked stays private. LiveBench's coding scorer is the user; nothing here knows about LiveBench.
"""

from __future__ import annotations

from sosbench.sandbox._run import (
    DEFAULT_LIMITS,
    Frame,
    SandboxLimits,
    SandboxMode,
    check_available,
    run_harness,
)

__all__ = ["DEFAULT_LIMITS", "Frame", "SandboxLimits", "SandboxMode", "check_available", "run_harness"]
