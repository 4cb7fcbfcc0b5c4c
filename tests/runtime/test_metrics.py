"""``supervisor run --metrics HOST:PORT``: scraped over HTTP, parsed with prometheus_client's parser.

What the supervisor knows (units, capabilities, checks) and what its services write in
prometheus_client's multiprocess mode come out of one endpoint.
"""

import os
import signal
import socket
import sys

from examples.demo.stack import wait_until
from tests.helpers.metrics import scrape
from tests.helpers.net import free_port

GRAPH = """
version = 1
[services.loader]
kind = "oneshot"
command = ["sh", "-c", "echo loaded > $RUNTIME_DIR/keys"]
provides = ["keys"]
check = {{ exec = ["test", "-s", "${{RUNTIME_DIR}}/keys"], interval = "100ms", timeout = "2s" }}
backoff = {{ initial = "100ms" }}
[services.worker]
command = ["{python}", "-c", "{worker}"]
requires = ["keys"]
provides = ["work"]
replicas = 2
"""
# A service counting with prometheus_client as the proxy workers do: one count each, then sleep.
WORKER = (
    "import time; from prometheus_client import Counter, Gauge; "
    "Counter('jobs', 'jobs done', ['kind']).labels('ok').inc(); "
    "Gauge('busy', 'busy now', multiprocess_mode='livesum').inc(); time.sleep(600)"
)


def test_units_capabilities_checks_and_the_services_own(supervisor):
    port = free_port()
    sup = supervisor(GRAPH.format(python=sys.executable, worker=WORKER), "--metrics", f"127.0.0.1:{port}")
    for unit in ("worker@1", "worker@2"):
        sup.wait_event(unit, "ready", timeout=20)

    def reported() -> dict | None:
        found = scrape(port)
        ran = found.get(("supervisor_capability_check_duration_seconds_count", (("capability", "keys"),)), 0)
        both = found.get(("jobs_total", (("kind", "ok"),))) == 2
        return found if ran >= 2 and both else None

    found = wait_until(reported, timeout=20, what="two checks and both workers' counts")
    ready = (("service", "worker"), ("state", "ready"), ("unit", "worker@1"))
    assert found[("supervisor_unit_state", ready)] == 1
    assert found[("supervisor_unit_uptime_seconds", (("service", "worker"), ("unit", "worker@1")))] > 0
    assert found[("supervisor_unit_restarts_total", (("service", "loader"), ("unit", "loader")))] == 0
    assert found[("supervisor_capability_available", (("capability", "keys"),))] == 1
    assert found[("supervisor_capability_available", (("capability", "work"),))] == 1
    assert found.get(("supervisor_capability_check_failures_total", (("capability", "keys"),)), 0) == 0
    assert found[("busy", ())] == 2  # the live workers' gauges, summed

    # A service that has just created its file and written nothing yet (prometheus_client opens
    # it, then sizes it): the scrape in between still answers, with everything else.
    born = sup.runtime_dir / "metrics" / "counter_4194304.db"
    born.touch()
    assert scrape(port)[("jobs_total", (("kind", "ok"),))] == 2
    born.unlink()

    # A worker killed: its count stays in the total, its gauge goes with it, and the restart shows.
    os.kill(sup.unit_status("worker@1")["pid"], signal.SIGKILL)
    sup.wait_event("worker@1", "ready", count=2, timeout=20)
    found = wait_until(
        lambda: (found := scrape(port))[("jobs_total", (("kind", "ok"),))] == 3 and found,
        timeout=20,
        what="the restarted worker's count",
    )
    assert found[("busy", ())] == 2
    assert found[("supervisor_unit_restarts_total", (("service", "worker"), ("unit", "worker@1")))] == 1

    # The check fails: counted, and the capability is lost (until the loader's re-run restores it).
    (sup.runtime_dir / "keys").unlink()
    sup.wait_event("loader", "check-failed", timeout=20)
    found = scrape(port)
    assert found[("supervisor_capability_check_failures_total", (("capability", "keys"),))] >= 1
    assert sup.stop() == 0


def test_a_metrics_address_that_cannot_be_served_starts_nothing(supervisor):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for address, message in (
            ("nonsense", "--metrics nonsense: expected HOST:PORT, e.g. 127.0.0.1:9100"),
            ("127.0.0.1:²", "--metrics 127.0.0.1:²: expected HOST:PORT, e.g. 127.0.0.1:9100"),  # a digit, not ASCII
            (f"127.0.0.1:{port}", f"--metrics 127.0.0.1:{port}: cannot listen: Address already in use"),
        ):
            sup = supervisor(GRAPH.format(python=sys.executable, worker=WORKER), "--metrics", address)
            assert sup.wait(30) == 2
            assert sup.process.stderr.read() == f"error: {message}\n"
            assert sup.events() == [] and sup.leftovers() == []
