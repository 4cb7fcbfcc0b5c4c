"""The plan: the selected variant compiled once into what lint checks, the views show and the
runtime runs (units, capabilities, edges, stop order), as a value two plans can be compared by."""

from examples.demo.stack import GRAPHS
from supervisor.check.analysis import selected
from supervisor.check.plan import Edge, Plan
from supervisor.graph.loader import load_file

FIXED = load_file(str(GRAPHS / "device-proxy.toml")).graph


def test_a_plan_holds_what_runs_in_its_variant():
    plan = Plan.compile(FIXED, selected(FIXED, "cli-ssh", ["registry"]))
    assert [(s.name, replica) for s, replica in plan.units] == [
        ("ssh-agent", None),
        ("key-loader", None),
        ("ssh-proxy", 1),
        ("ssh-proxy", 2),
        ("ssh-probe", None),
    ]
    assert dict(plan.capabilities) == {
        "ssh-agent": ("ssh-agent",),
        "ssh-identity-keys": ("key-loader",),
        "ssh-workers": ("ssh-proxy",),
        "device-ssh": ("ssh-probe",),
    }
    assert Edge("ssh-proxy", "device-registry", "registry", False) in plan.edges
    assert not [e for e in plan.edges if e.consumer == "web-terminal"]  # off: it needs nothing
    assert plan.startable == {"ssh-agent", "key-loader"}  # the proxy needs the registry
    assert plan.offers == ("device-ssh",) and not plan.deliverable("device-ssh")
    assert "registry" in plan.why_not("device-ssh")


def test_the_stop_order_stops_dependents_before_their_providers():
    plan = Plan.compile(FIXED, selected(FIXED))
    assert plan.stop_order == (
        ("web-terminal",),
        ("ssh-probe",),
        ("ssh-proxy",),
        ("key-loader", "registry"),
        ("ssh-agent",),
    )
    # Switched off, key-loader no longer holds ssh-agent back behind it.
    plan = Plan.compile(FIXED, selected(FIXED, None, ["key-loader"]))
    assert plan.stop_order == (("web-terminal",), ("ssh-probe",), ("ssh-proxy",), ("registry", "ssh-agent"))


def test_depth_puts_providers_before_the_services_that_need_them():
    assert dict(Plan.compile(FIXED, selected(FIXED)).depths) == {
        "ssh-agent": 0,
        "registry": 0,
        "key-loader": 1,
        "ssh-proxy": 2,
        "ssh-probe": 3,
        "web-terminal": 4,
    }
    # The registry switched off: the proxy's depth comes from the providers that are on.
    assert Plan.compile(FIXED, selected(FIXED, None, ["registry", "key-loader"])).depths["ssh-proxy"] == 1


def test_plans_are_values_compared_by_graph_and_variant():
    again = load_file(str(GRAPHS / "device-proxy.toml")).graph
    first = Plan.compile(FIXED, selected(FIXED, "cli-ssh"))
    assert first == Plan.compile(again, selected(again, "cli-ssh"))
    assert len({first, Plan.compile(again, selected(again, "cli-ssh"))}) == 1
    assert first != Plan.compile(FIXED, selected(FIXED, "web"))
    assert first != Plan.compile(FIXED, selected(FIXED, "cli-ssh", ["registry"]))
