"""What the SSH proxy and web terminal benches both measure with: percentiles and a process's RSS."""

from pathlib import Path


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
