"""``graphs/device-proxy.toml`` as it is deployed: under the real supervisor, set up as the demo does.

The stack's tests (what the supervisor adds to it) and the benches (what it costs) run the same
thing: the demo's :class:`~examples.demo.stack.Stack` (keys, registry, environment) under a
:class:`~tests.helpers.supervisor.Supervisor`, whose event log says when each unit is ready and
whose output holds the proxy's audit lines. A test starts it through the ``supervisor`` fixture,
which also checks that nothing is left behind; a bench starts it with its own directory.
"""

import json
from collections.abc import Callable, Iterable
from pathlib import Path

import attrs

from examples.demo.stack import GRAPH, Stack
from tests.helpers.supervisor import Supervisor

REPLICAS = ("ssh-proxy@1", "ssh-proxy@2")


@attrs.frozen
class Deployed:
    stack: Stack
    run: Supervisor

    @classmethod
    def start(
        cls,
        stack: Stack,
        profile: str,
        ready: Iterable[str],
        supervise: Callable[..., Supervisor],
        timeout: float = 60,
    ) -> "Deployed":
        """``supervise(graph, *args, env=...)`` the graph in ``profile``; returns once each of the
        ``ready`` units is."""
        run = supervise(GRAPH, "--profile", profile, env=stack.env())
        for unit in ready:
            run.wait_event(unit, "ready", timeout=timeout)
        return cls(stack, run)

    @property
    def control(self) -> Path:
        return Path(self.run.control)

    def pids(self, service: str) -> dict[str, int]:
        """The running units of ``service`` that are ready, with their pids."""
        units = self.run.status()["services"]
        return {u["unit"]: u["pid"] for u in units if u["name"] == service and u["state"] == "ready"}

    def audit(self) -> list[dict]:
        """The session lines both proxy replicas wrote to stdout, as the supervisor logged them,
        but for the canary's: those are device-ssh's check (ssh-probe), not a user's."""
        lines = [line for unit in REPLICAS for line in self.run.output(unit)]
        found = [json.loads(line) for line in lines if line.startswith('{"event": "session"')]
        return [session for session in found if session["user"] != "probe"]
