"""A unit that reports a capability broken when told to: the sender side of docs/notify.md, for
the tests and the bench that measure what the supervisor does with a report.

Its command is :data:`REPORTER`: on each SIGUSR1 it sends what ``$RUNTIME_DIR/report.json``
says (``{"datagram": ..., "count": N}``) to its NOTIFY_SOCKET, then prints ``sent N``.
"""

import json
import os
import signal
import time

from examples.demo.stack import wait_until
from tests.helpers.supervisor import PY

REPORTER = """
import json, os, signal, socket
def report(*_):
    order = json.load(open(os.path.join(os.environ["RUNTIME_DIR"], "report.json")))
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    for _ in range(order["count"]):
        sock.sendto(order["datagram"].encode(), os.environ["NOTIFY_SOCKET"])
    print("sent", order["count"], flush=True)
signal.signal(signal.SIGUSR1, report)
print("listening", flush=True)
while True:
    signal.pause()
"""


def reporter(name: str, *requires: str) -> str:
    """The TOML of a service ``name`` that requires ``requires`` and reports when told to."""
    return (
        f"[services.{name}]\n"
        f"command = [{json.dumps(PY)}, \"-c\", {json.dumps(REPORTER)}]\n"
        f"requires = {json.dumps(list(requires))}\n"
    )


def report(sup, unit: str, datagram: str, count: int = 1, pid: int | None = None) -> float:
    """Have ``unit`` (its process ``pid``, else asked of the supervisor) send ``datagram`` ``count``
    times; returns once it has, with the time it was told to."""
    (sup.runtime_dir / "report.json").write_text(json.dumps({"datagram": datagram, "count": count}))
    sent = sum(line.startswith("sent") for line in sup.output(unit))
    pid = pid or sup.unit_status(unit)["pid"]
    told = time.time()
    os.kill(pid, signal.SIGUSR1)
    wait_until(lambda: sum(line.startswith("sent") for line in sup.output(unit)) > sent, 20, f"{unit} sent")
    return told


def listening(sup, unit: str) -> None:
    """Wait until ``unit`` is ready for its orders."""
    sup.wait_event(unit, "ready")
    wait_until(lambda: "listening" in sup.output(unit), 10, f"{unit} listening")
