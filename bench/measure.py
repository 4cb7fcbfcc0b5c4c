"""What several benches measure with: percentiles, a process's RSS and the CPU time it used, and
the machine's load average, printed with every figure."""

import os
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def rss_kb(pid: int) -> int:
    """The process's resident set size in KB (VmRSS), 0 if /proc does not say."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def percentile(values: list[float], fraction: float) -> float:
    """The value at ``fraction`` (0.5 median, 0.99 p99) of ``values``, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def cpu_seconds(pid: int) -> float:
    """User and system CPU time the process has used so far (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, e.g. ``0.42 0.31 0.25``."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())
