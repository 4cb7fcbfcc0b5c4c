"""CPU and memory of the units' processes, sampled by ``top`` itself (psutil), not asked of the
supervisor: watching stays free for it. Only this sampling runs on a timer, every ``--interval``
seconds; with ``--interval 0`` top does nothing at all until the supervisor pushes a change."""

import attrs
import psutil


@attrs.frozen
class Usage:
    cpu: float  # percent of one core since the last sample
    rss: int  # bytes


@attrs.define
class Sampler:
    """One psutil.Process per pid, kept between samples (cpu_percent measures since the last)."""

    _processes: dict[int, psutil.Process] = attrs.field(factory=dict)

    def sample(self, pids: set[int]) -> dict[int, Usage]:
        for gone in self._processes.keys() - pids:
            del self._processes[gone]
        found = {}
        for pid in pids:
            try:
                if pid not in self._processes:
                    self._processes[pid] = psutil.Process(pid)
                    self._processes[pid].cpu_percent(None)  # the first call only starts the count
                process = self._processes[pid]
                with process.oneshot():
                    found[pid] = Usage(process.cpu_percent(None), process.memory_info().rss)
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                self._processes.pop(pid, None)
        return found


def megabytes(size: int) -> str:
    return f"{size / 2**20:.0f}M" if size >= 10 * 2**20 else f"{size / 2**20:.1f}M"
