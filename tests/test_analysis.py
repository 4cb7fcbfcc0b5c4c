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


STANDBY = """
version = 1
[services.db]
command = "db"
provides = ["db"]
[services.api]
command = "api"
provides = ["api"]
requires = ["db"]
[services.standby-api]
command = "api"
provides = ["api"]
optional = true
[services.web]
command = "web"
provides = ["web"]
requires = ["api"]
[profiles.lean]
disable = ["standby-api"]
offers = ["web"]
"""


def test_an_optional_standby_holds_nothing_a_service_that_stays_on_also_provides(write_graph):
    """standby-api could start first (it requires nothing), but optional services are ranked after
    what can start without them: web's api is held by api, so switching the standby off (as
    profiles and lint's variants do) takes nothing else away, and nothing needs repairing."""
    graph = load_file(write_graph(STANDBY)).graph
    startability = Startability(graph)
    assert startability.rank["standby-api"] > startability.rank["web"]
    off = graph.disabled_by("lean")
    assert startability._unsupported(off, limit=len(graph.services)) == {"standby-api"}
    assert startability.of(off) == startable(graph, off) == frozenset({"db", "api", "web"})
