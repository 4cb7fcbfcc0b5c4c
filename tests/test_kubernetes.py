"""examples/kubernetes/: every manifest parses (PyYAML) and says what the deployment needs.

Deployments of the image (examples/container/Dockerfile) for profiles cli-ssh and web, with the
proxy's identity keys, host keys, the probe's key and the registry URL from Secrets; readiness
and liveness through ``supervisor status --ready``; a Service and a PodDisruptionBudget for the
pods; a termination grace that covers the graph's own stop (dependents first, each service's
``stop_timeout``). Every command a manifest runs must be one the image's ``supervisor`` accepts,
and every variable it sets one the graph reads.
"""

import json
import re
import tomllib
from pathlib import Path

import pytest
import yaml

from examples.demo.stack import GRAPHS, ROOT
from supervisor.check.analysis import selected
from supervisor.check.plan import Plan
from supervisor.cli import build_parser
from supervisor.graph.loader import load_file

MANIFESTS = ROOT / "examples" / "kubernetes"
PROFILES = ("cli-ssh", "web")
GRAPH = GRAPHS / "device-proxy.toml"
# Read by the image, not by the graph: the control socket for `status`, libpq's password.
NOT_GRAPH_VARIABLES = {"SUPERVISOR_CONTROL", "PGPASSWORD"}
SUPERVISOR_EXIT = 5  # seconds the supervisor may need after its last service has stopped


def documents() -> list[dict]:
    found = []
    for path in sorted(MANIFESTS.glob("*.yaml")):
        found += [(path.name, doc) for doc in yaml.safe_load_all(path.read_text()) if doc]
    return found


def of_kind(kind: str) -> list[dict]:
    return [doc for _, doc in documents() if doc.get("kind") == kind]


def deployment(profile: str) -> dict:
    (found,) = [
        d for d in of_kind("Deployment") if d["metadata"]["labels"]["device-proxy/profile"] == profile
    ]
    return found


def container(profile: str) -> dict:
    (found,) = deployment(profile)["spec"]["template"]["spec"]["containers"]
    return found


def entrypoint() -> list[str]:
    """The image's ENTRYPOINT (exec form) from its Dockerfile."""
    text = (ROOT / "examples" / "container" / "Dockerfile").read_text()
    return json.loads(re.search(r"^ENTRYPOINT (\[.*\])$", text, re.M).group(1))


def accepted_by_the_image(argv: list[str]) -> None:
    """``argv`` names a program the image installs, which accepts these arguments."""
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert argv[0] in scripts, f"{argv[0]} is not a command of the image ({sorted(scripts)})"
    try:
        build_parser(argv[1:]).parse_args(argv[1:])
    except SystemExit as refused:
        raise AssertionError(
            f"the image's {argv[0]} refuses {' '.join(argv)} (exit {refused.code})"
        ) from None


def test_every_manifest_parses_and_has_a_kind():
    names = {name for name, _ in documents()}
    assert {"deployment-cli-ssh.yaml", "deployment-web.yaml", "service.yaml", "pdb.yaml"} <= names
    assert all(doc.get("apiVersion") and doc.get("kind") for _, doc in documents())
    listed = yaml.safe_load((MANIFESTS / "kustomization.yaml").read_text())["resources"]
    assert sorted(listed) == sorted(
        n for n in names if n not in ("kustomization.yaml", "secrets.example.yaml")
    )


@pytest.mark.parametrize("profile", PROFILES)
def test_the_deployment_runs_the_profile_the_graph_proves(profile, cli):
    argv = [*entrypoint(), *container(profile)["args"]]
    assert argv[:3] == ["supervisor", "run", "graphs/device-proxy.toml"]
    assert argv[argv.index("--profile") + 1] == profile
    accepted_by_the_image(argv)
    status, out, _ = cli("lint", "--strict", "--format", "json", "--profile", profile, str(GRAPH))
    assert status == 0, out
    labels = deployment(profile)["spec"]["template"]["metadata"]["labels"]
    assert deployment(profile)["spec"]["selector"]["matchLabels"] == labels


@pytest.mark.parametrize("profile", PROFILES)
def test_keys_and_registry_come_from_secrets(profile):
    spec = deployment(profile)["spec"]["template"]["spec"]
    env = {e["name"]: e for e in container(profile)["env"]}
    secret_volumes = {v["name"]: v["secret"]["secretName"] for v in spec["volumes"] if "secret" in v}
    mounted = {m["mountPath"]: secret_volumes[m["name"]] for m in container(profile)["volumeMounts"]}
    state = env["STATE_DIR"]["value"]
    assert mounted[env["KEYS_DIR"]["value"]] == "device-proxy-identity-keys"
    assert mounted[f"{state}/host-keys"] == "device-proxy-host-keys"
    assert mounted[str(Path(env["PROBE_KEY"]["value"]).parent)] == "device-proxy-probe-key"
    if profile == "web":
        assert mounted[str(Path(env["WEB_KEY"]["value"]).parent)] == "device-proxy-web-terminal-key"
    assert env["REGISTRY"]["valueFrom"]["secretKeyRef"] == {"name": "device-proxy-registry", "key": "url"}
    assert all(m.get("readOnly") for m in container(profile)["volumeMounts"])

    examples = {s["metadata"]["name"]: s["stringData"] for s in of_kind("Secret")}
    for name in secret_volumes.values():
        assert name in examples, f"secrets.example.yaml has no Secret {name}"
    for entry in env.values():
        ref = entry.get("valueFrom", {}).get("secretKeyRef")
        if ref:
            assert ref["key"] in examples[ref["name"]]
    assert {"ssh_host_ed25519_key", "ssh_host_rsa_key"} <= set(examples["device-proxy-host-keys"])


@pytest.mark.parametrize("profile", PROFILES)
def test_every_variable_set_is_one_the_graph_reads(profile):
    used = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", GRAPH.read_text()))
    for entry in container(profile)["env"]:
        assert entry["name"] in used | NOT_GRAPH_VARIABLES, f"{entry['name']} is read by nothing"


@pytest.mark.parametrize("profile", PROFILES)
def test_readiness_and_liveness_ask_the_supervisor(profile):
    graph = load_file(str(GRAPH)).graph
    for probe in ("readinessProbe", "livenessProbe"):
        argv = container(profile)[probe]["exec"]["command"]
        assert argv[:3] == ["supervisor", "status", "--ready"]
        assert set(argv[3:]) <= set(graph.providers), f"{probe} names an unknown capability"
        accepted_by_the_image(argv)


def test_the_services_and_budgets_select_the_pods():
    pods = {profile: deployment(profile)["spec"]["template"]["metadata"]["labels"] for profile in PROFILES}

    def selected_profiles(selector: dict) -> set[str]:
        return {p for p, labels in pods.items() if selector.items() <= labels.items()}

    ports = {p: {port["name"] for port in container(p)["ports"]} for p in PROFILES}
    services = {s["metadata"]["name"]: s["spec"] for s in of_kind("Service")}
    assert selected_profiles(services["device-proxy-ssh"]["selector"]) == set(PROFILES)
    assert selected_profiles(services["device-proxy-web"]["selector"]) == {"web"}
    for spec in services.values():
        for port in spec["ports"]:
            assert all(port["targetPort"] in ports[p] for p in selected_profiles(spec["selector"]))
    budgets = [
        selected_profiles(b["spec"]["selector"]["matchLabels"]) for b in of_kind("PodDisruptionBudget")
    ]
    assert sorted(map(sorted, budgets)) == [["cli-ssh"], ["web"]]


@pytest.mark.parametrize("profile", PROFILES)
def test_termination_grace_covers_the_graph_s_stop(profile):
    """Dependents stop before providers, one generation after another, each running service given
    its drain_timeout and stop_timeout: SIGKILL must not come first, nor the pod linger far longer."""
    graph = load_file(str(GRAPH)).graph
    plan = Plan.compile(graph, selected(graph, profile))
    stopping = sum(
        max(
            (
                graph.services[name].drain_timeout + graph.services[name].stop_timeout
                for name in generation
                if graph.services[name].kind == "longrun"
            ),
            default=0,
        )
        for generation in plan.stop_order
    )
    grace = deployment(profile)["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert stopping + SUPERVISOR_EXIT <= grace <= stopping + 3 * SUPERVISOR_EXIT


def test_the_ci_job_lints_every_deployed_profile():
    workflow = yaml.safe_load((ROOT / "examples" / "ci" / "graph-checks.yml").read_text())
    job = workflow["jobs"]["profiles"]
    assert sorted(job["strategy"]["matrix"]["profile"]) == sorted(PROFILES)
    (lint,) = [step["run"] for step in job["steps"] if "supervisor lint" in step.get("run", "")]
    assert (
        "--strict" in lint
        and "--profile ${{ matrix.profile }}" in lint
        and "graphs/device-proxy.toml" in lint
    )
