"""Runs first in every sandbox (standard library only): set the hard limits, then run the script.

``python -I -B _entry.py LIMITS SCRIPT``: LIMITS is a JSON object of rlimits
(``SandboxLimits.process_limits``), set hard (soft = hard) so that nothing the script runs can raise
them; SCRIPT then runs as ``__main__``. The limits are set here rather than around bubblewrap because
bubblewrap itself must fork and map memory freely, and every process the script starts inherits them.
"""

from __future__ import annotations

import json
import resource
import runpy
import sys

_RLIMITS = {
    "cpu_s": resource.RLIMIT_CPU,
    "memory_bytes": resource.RLIMIT_AS,
    "processes": resource.RLIMIT_NPROC,
    "file_bytes": resource.RLIMIT_FSIZE,
    "open_files": resource.RLIMIT_NOFILE,
}


def main() -> None:
    limits, script = json.loads(sys.argv[1]), sys.argv[2]
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    for key, which in _RLIMITS.items():
        if limits.get(key):
            resource.setrlimit(which, (limits[key], limits[key]))
    sys.argv = [script]
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
