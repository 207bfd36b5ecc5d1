"""What a sandbox may use: where it runs (``SandboxMode``), its limits, and how they hold (``Budget``)."""

from __future__ import annotations

import enum
import re
import resource
from dataclasses import dataclass
from typing import Literal

from sosbench.errors import SosbenchError

MIB = 1024**2
GIB = 1024**3

Budget = Literal["cgroup", "rlimit"]
"""How a sandbox's memory and process budget is enforced: ``cgroup``, one cgroup (v2) per sandbox whose
``memory.max``, ``pids.max`` and ``cpu.max`` bound all its processes together; ``rlimit``, where the host
gives no cgroup, per-process limits split so that limit x processes stays within the budget."""

DEFAULT_PROCESSES: dict[Budget, int] = {"cgroup": 64, "rlimit": 2}
"""Processes and threads a sandbox may run at once unless told otherwise. A LiveBench answer needs one
(two with a thread); without a cgroup each one costs a share of the memory budget, so the default is small."""

MIN_MEMORY_BYTES = 256 * MIB
"""Below this the interpreter (with numpy preloaded) does not start."""


class SandboxUnavailable(SosbenchError):
    """The sandbox cannot start here: the host's fault, not the script's, so no score should be a 0 for it."""


class SandboxMode(str, enum.Enum):
    """Where model-written code runs: the one list of modes."""

    BWRAP = "bwrap"
    """In a bubblewrap sandbox (the default)."""
    NONE = "none"
    """Unsandboxed, limits and a new session only: an explicit, unsafe opt-out that outputs must flag."""

    def __str__(self) -> str:
        return self.value

    @classmethod
    def of(cls, name: str) -> SandboxMode:
        """The mode called ``name`` (a ``--sandbox`` value), or one error line listing the modes."""
        try:
            return cls(name)
        except ValueError:
            choices = " or ".join(mode.value for mode in cls)
            raise SosbenchError(f"unknown --sandbox {name!r}: use {choices}") from None


def default_memory_bytes() -> int:
    """2 GiB, or less where the scorer itself runs under a lower hard ``ulimit -v``."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    return 2 * GIB if hard == resource.RLIM_INFINITY else min(2 * GIB, int(hard * 0.9))


_SIZE = re.compile(r"(?P<number>\d+(?:\.\d+)?)\s*(?P<unit>[kmgt]?)(?:i?b)?", re.IGNORECASE)


def memory_size(text: str) -> int:
    """Bytes from ``2G``, ``512MiB``, ``1.5g`` or a plain byte count (``--sandbox-memory``)."""
    match = _SIZE.fullmatch(text.strip())
    if match is None:
        raise SosbenchError(f"--sandbox-memory {text!r} is not a size: give e.g. 2G, 512M or 1.5GiB")
    power = " KMGT".index(match["unit"].upper() or " ")
    return int(float(match["number"]) * 1024**power)


@dataclass(frozen=True)
class SandboxLimits:
    """Limits for one sandbox (all the processes of one run of a script). Zero means "the default"."""

    memory_bytes: int = 0
    """Memory of the whole sandbox, all its processes together; 0: 2 GiB (or 90 % of a lower hard
    ``ulimit -v`` of the scorer)."""
    processes: int = 0
    """Processes and threads the sandbox may run at once; 0: 64 under a cgroup, 2 without one."""
    cpus: float = 1.0
    """CPU share: cores the whole sandbox may keep busy (its cgroup's ``cpu.max``; without a cgroup each
    process is bounded by its CPU time alone)."""
    cpu_s: int = 0
    """CPU seconds per process; 0: the run's wall-clock budget."""
    file_bytes: int = 16 * MIB
    open_files: int = 256
    tmpfs_bytes: int = 64 * MIB
    """Total size of the one writable folder, ``/tmp`` (its pages count against the memory budget under
    a cgroup)."""
    max_output_bytes: int = 64 * MIB
    """The most the scorer reads from the result pipe in all."""
    max_line_bytes: int = 2 * MIB
    """The most one result line may hold, unless the caller allows a line more (``ResultLine``)."""
    startup_s: float = 20.0
    """Wall-clock allowance for starting the sandbox and interpreter, on top of the run's own budget."""

    def __post_init__(self) -> None:
        if self.memory_bytes and self.memory_bytes < MIN_MEMORY_BYTES:
            raise SosbenchError(
                f"--sandbox-memory {self.memory_bytes} bytes is too small: give at least "
                f"{MIN_MEMORY_BYTES // MIB}M (the interpreter alone needs that much)"
            )
        if self.processes < 0:
            raise SosbenchError(f"--sandbox-processes must be at least 1, not {self.processes}")

    @classmethod
    def from_options(cls, memory: str | None = None, processes: int | None = None) -> SandboxLimits:
        """Limits from the ``--sandbox-memory`` (a size such as 2G) and ``--sandbox-processes`` options."""
        if processes is not None and processes < 1:
            raise SosbenchError(f"--sandbox-processes must be at least 1, not {processes}")
        return cls(memory_bytes=memory_size(memory) if memory else 0, processes=processes or 0)

    def memory(self) -> int:
        """The memory budget in bytes."""
        return self.memory_bytes or default_memory_bytes()

    def process_count(self, budget: Budget) -> int:
        """How many processes and threads the sandbox may run at once under ``budget``."""
        return self.processes or DEFAULT_PROCESSES[budget]

    def process_limits(self, budget: Budget, deadline_s: float) -> dict[str, int]:
        """The hard rlimits every process in the sandbox gets. Under a cgroup the budget bounds the sum, so
        one process may use all of it; without one it is split: address space x processes <= budget."""
        count = self.process_count(budget)
        memory = self.memory() if budget == "cgroup" else self.memory() // count
        return {
            "cpu_s": self.cpu_s or int(deadline_s) + 1,
            "memory_bytes": memory,
            "processes": count + 1,  # RLIMIT_NPROC also counts bubblewrap's init, PID 1 of the sandbox
            "file_bytes": self.file_bytes,
            "open_files": self.open_files,
        }


DEFAULT_LIMITS = SandboxLimits()
