"""The model is a value: a loaded graph cannot be changed through any of its collections, and its
parts hash and compare like the values they are."""

import attrs
import pytest

from supervisor.graph.loader import load_file

GRAPH = """
version = 1
name = "proxy-stack"
[services.agent]
command = "agent"
provides = ["agent"]
environment = { SSH_AUTH_SOCK = "/run/agent.sock" }
[services.proxy]
command = ["proxy", "--port", "2222"]
requires = ["agent"]
optional = true
[profiles.lite]
disable = ["proxy"]
offers = ["agent"]
"""


def test_no_collection_of_a_loaded_graph_can_be_changed(write_graph):
    graph = load_file(write_graph(GRAPH)).graph
    agent = graph.services["agent"]
    changes = [
        lambda: graph.services.__setitem__("ghost", agent),
        lambda: graph.services.pop("agent"),
        lambda: graph.profiles.__delitem__("lite"),
        lambda: graph.providers.__setitem__("agent", ("ghost",)),
        lambda: graph.consumers.clear(),
        lambda: graph.offered_by.update(agent=()),
        lambda: agent.environment.__setitem__("SSH_AUTH_SOCK", "/tmp/other"),
        lambda: agent.provides.append("web"),
    ]
    for change in changes:
        with pytest.raises((TypeError, AttributeError)):
            change()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        agent.command = ("other",)
    assert list(graph.services) == ["agent", "proxy"]
    assert graph.providers["agent"] == ("agent",) and dict(agent.environment) == {
        "SSH_AUTH_SOCK": "/run/agent.sock"
    }


def test_services_profiles_and_graphs_are_hashable_values(write_graph):
    first = load_file(write_graph(GRAPH)).graph
    again = load_file(write_graph(GRAPH, "again.toml")).graph
    assert {first.services["agent"], again.services["agent"]} == {first.services["agent"]}
    assert hash(first.profiles["lite"]) == hash(again.profiles["lite"])
    assert first == again and hash(first) == hash(again)
    changed = load_file(write_graph(GRAPH.replace("/run/agent.sock", "/run/b.sock"), "b.toml")).graph
    assert changed.services["agent"] != first.services["agent"] and changed != first
