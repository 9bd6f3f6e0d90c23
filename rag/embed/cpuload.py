"""How many CPU cores other processes have been using lately (Linux).

OpenMP code that splits one small job over every core slows down badly when
another process holds one of them: each parallel step waits for the worker
that is not running. The embedder asks this module before each call how many
cores are free and uses no more threads than that.

Reads /proc/stat (all CPU time) and this process's own CPU time; the estimate
is averaged over the time since the previous reading. Elsewhere, or when
/proc is unreadable, it reports 0 (assume the machine is free).
"""

from __future__ import annotations

import os
import threading
import time

_BUSY_FIELDS = (0, 1, 2, 5, 6, 7)  # user nice system irq softirq steal


class OtherLoad:
    """Cores used by other processes, averaged since the previous reading.

    >>> load = OtherLoad(); load.cores() >= 0.0
    True
    """

    def __init__(self, min_window: float = 0.05) -> None:
        self.min_window = min_window
        self._tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self._last: tuple[float, float, float] | None = None
        self._estimate = 0.0
        self._lock = threading.Lock()
        self._last = self._read()

    def _read(self) -> tuple[float, float, float] | None:
        try:
            with open("/proc/stat", encoding="ascii") as f:
                fields = f.readline().split()[1:]
        except OSError:
            return None
        busy = sum(int(fields[i]) for i in _BUSY_FIELDS if i < len(fields)) / self._tick
        own = os.times()
        return time.monotonic(), busy, own.user + own.system

    def cores(self) -> float:
        """Average number of cores other processes used since the last call."""
        with self._lock:
            now = self._read()
            if now is None or self._last is None:
                return 0.0
            elapsed = now[0] - self._last[0]
            if elapsed < self.min_window:
                return self._estimate  # too short to measure: keep the last
            others = (now[1] - self._last[1]) - (now[2] - self._last[2])
            self._estimate = max(0.0, others / elapsed)
            self._last = now
            return self._estimate


def free_threads(wanted: int, load: OtherLoad, cores: int | None = None) -> int:
    """`wanted` threads, fewer when other processes occupy cores (at least 1)."""
    cores = cores or os.cpu_count() or 1
    busy = int(load.cores() + 0.5)
    return max(1, min(wanted, cores - busy))
