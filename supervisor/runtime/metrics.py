"""Prometheus metrics of a running graph, served over HTTP by ``supervisor run --metrics HOST:PORT``.

The supervisor's own, read from the runtime at each scrape (``RuntimeCollector``), so they can
never disagree with ``status``:

- per unit: ``supervisor_unit_state`` (1 for the state it is in), ``supervisor_unit_restarts_total``,
  ``supervisor_unit_uptime_seconds`` (0 while no process runs);
- per capability: ``supervisor_capability_available`` (0/1), and from every check run
  (``Runtime.on_check``) ``supervisor_capability_check_duration_seconds`` (a histogram) and
  ``supervisor_capability_check_failures_total``.

The services' metrics on the same endpoint: every child gets ``PROMETHEUS_MULTIPROC_DIR`` (the
``metrics`` directory of the runtime directory), prometheus_client's multiprocess mode, and the
supervisor serves what they write with prometheus_client's ``MultiProcessCollector``. Replicas
share a listening socket, so a scrape of one worker's own endpoint would be a sample of one
worker; here the supervisor, which started them all, answers for the pod. Counters and
histograms of workers that ended stay in the sums (a restart loses nothing); a ``live*`` gauge
(sessions open) of a process that is gone is dropped at the next scrape.

prometheus_client serves from its own thread; the runtime's records are only read there.
"""

import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Histogram, multiprocess, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from supervisor.graph.addresses import AddressError, host_port
from supervisor.runtime.core import Runtime
from supervisor.runtime.main import MetricsError
from supervisor.runtime.unit import Unit
from supervisor.status import CapabilityState

_LIVE_GAUGE = re.compile(r"gauge_live\w+_(\d+)\.db")
# A check runs a probe: from a socket connect (milliseconds) to an SSH session (seconds).
CHECK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class RuntimeCollector:
    """The units' and capabilities' state as metrics, read at each scrape."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[Metric]:
        labels = ["unit", "service"]
        state = GaugeMetricFamily(
            "supervisor_unit_state", "1 for the state the unit is in", labels=[*labels, "state"]
        )
        restarts = CounterMetricFamily("supervisor_unit_restarts", "restarts of the unit", labels=labels)
        uptime = GaugeMetricFamily(
            "supervisor_unit_uptime_seconds", "how long its process has run", labels=labels
        )
        now = time.time()
        for unit in list(self.runtime.units.values()):
            names = [unit.name, unit.service.name]
            state.add_metric([*names, unit.state.value], 1)
            restarts.add_metric(names, unit.restarts)
            running = unit.pid is not None and unit.started_at is not None
            uptime.add_metric(names, now - unit.started_at if running else 0)
        available = GaugeMetricFamily(
            "supervisor_capability_available", "1 while the capability is proven", labels=["capability"]
        )
        for capability in list(self.runtime.capabilities.values()):
            available.add_metric([capability.name], 1 if capability.state is CapabilityState.AVAILABLE else 0)
        yield from (state, restarts, uptime, available)


class _Services:
    """What the services write in multiprocess mode, merged by prometheus_client.

    Two races with the writers are closed here. A process creates its file, then sizes it: a file
    read in between is empty and would fail the whole scrape, so files shorter than their header
    are left out (they hold nothing yet). The ``live*`` gauges of processes gone are dropped
    first, as prometheus_client asks.
    """

    HEADER = 8  # bytes: how much of the file is used, and padding

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def files(self) -> Iterator[str]:
        for path in self.directory.glob("*.db"):
            try:
                if path.stat().st_size >= self.HEADER:
                    yield str(path)
            except FileNotFoundError:  # a live gauge's file, dropped since the glob
                continue

    def collect(self) -> Iterator[Metric]:
        for path in self.directory.glob("gauge_live*_*.db"):
            found = _LIVE_GAUGE.fullmatch(path.name)
            if found and not Path(f"/proc/{found.group(1)}").exists():
                multiprocess.mark_process_dead(int(found.group(1)), str(self.directory))
        yield from multiprocess.MultiProcessCollector.merge(list(self.files()), accumulate=True)


class Metrics:
    """The endpoint of one run: its registry, the checks' metrics, and the services' directory."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.registry = CollectorRegistry()
        self.directory = runtime.runtime_dir / "metrics"
        self.registry.register(RuntimeCollector(runtime))
        self.durations = Histogram(
            "supervisor_capability_check_duration_seconds",
            "how long each check of the capability took",
            ["capability"],
            buckets=CHECK_BUCKETS,
            registry=self.registry,
        )
        self.failures = Counter(
            "supervisor_capability_check_failures", "checks of the capability that failed", ["capability"],
            registry=self.registry,
        )  # fmt: skip
        self.server = None
        runtime.on_check = self.checked

    def checked(self, unit: Unit, ok: bool, duration: float) -> None:
        for capability in unit.service.provides:
            self.durations.labels(capability).observe(duration)
            if not ok:
                self.failures.labels(capability).inc()

    def serve(self, address: str) -> None:
        """Listen on ``address`` (``HOST:PORT``) from a thread of prometheus_client's own."""
        try:
            host, port = host_port(address)
        except AddressError:
            host = ""
        if not host:
            raise MetricsError(f"--metrics {address}: expected HOST:PORT, e.g. 127.0.0.1:9100")
        try:
            self.server, _ = start_http_server(port, host, registry=self.registry)
        except OSError as error:
            raise MetricsError(f"--metrics {address}: cannot listen: {error.strerror or error}") from None
        self.directory.mkdir(mode=0o700)
        self.registry.register(_Services(self.directory))
        self.runtime.metrics_dir = self.directory  # from now on every child is told where it is

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        shutil.rmtree(self.directory, ignore_errors=True)
