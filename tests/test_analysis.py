"""The startable sets lint and the views derive per variant must equal the full fixed point."""

from supervisor.check.analysis import Startability, startable
from supervisor.check.lint import lint
from supervisor.graph.loader import load_file

SELF_PROVIDER = """
version = 1
[services.agent]
command = "agent"
provides = ["ssh-agent"]
ready = { notify = true }
[services.cache]
command = "cache"
provides = ["ssh-agent"]
requires = ["ssh-agent"]
ready = { notify = true }
[profiles.cli]
disable = ["agent"]
offers = ["ssh-agent"]
"""


def test_a_provider_that_requires_itself_does_not_hold_itself_up(write_graph):
    """cache can start only while agent provides ssh-agent: with agent off, nothing provides it."""
    graph = load_file(write_graph(SELF_PROVIDER)).graph
    off = graph.disabled_by("cli")
    assert Startability(graph).of(off) == startable(graph, off) == frozenset()
    offers = [f for f in lint(graph, "cli") if f.rule.id == "offer-unavailable"]
    assert [f.capability for f in offers] == ["ssh-agent"]
