"""A unit reports a capability it requires as broken (``X_CAPABILITY_BROKEN`` on its
NOTIFY_SOCKET, docs/notify.md), with real processes: the provider's check runs at once although
its interval is an hour, a flood of reports runs one or two checks, a report from a unit that
does not require the capability is ignored (one event however many), a failed triggered check
re-runs the oneshot, and the reason, hostile text, is logged escaped and bounded."""

from examples.demo.stack import wait_until
from tests.helpers.reporter import listening, report, reporter

GRAPH = f"""
version = 1
[services.loader]
kind = "oneshot"
command = ["sh", "-c", "echo loaded > $RUNTIME_DIR/keys"]
provides = ["keys"]
check = {{ exec = ["sh", "-c", "echo run >> $RUNTIME_DIR/checks; sleep $CHECK_TAKES; test -s $RUNTIME_DIR/keys && echo keys present || {{ echo keys missing; exit 1; }}"], interval = "1h", timeout = "10s" }}
environment = {{ CHECK_TAKES = "0" }}
[services.base]
command = ["sleep", "3600"]
provides = ["base"]
{reporter("proxy", "keys")}
{reporter("other", "base")}
"""


def started(supervisor, check_takes: str = "0"):
    sup = supervisor(GRAPH.replace('CHECK_TAKES = "0"', f'CHECK_TAKES = "{check_takes}"'))
    for unit in ("proxy", "other"):
        listening(sup, unit)
    assert checks_run(sup) == 1  # the oneshot's first check, at once; the next would be in an hour
    return sup


def checks_run(sup) -> int:
    path = sup.runtime_dir / "checks"
    return len(path.read_text().splitlines()) if path.exists() else 0


def test_a_report_from_a_requiring_unit_runs_the_check_at_once(supervisor):
    sup = started(supervisor)
    report(sup, "proxy", "X_CAPABILITY_BROKEN=keys\nX_REASON=agent holds no identities\n")
    requested = sup.wait_event("loader", "check-requested")
    assert requested["message"] == "keys reported broken by proxy: agent holds no identities"
    checked = sup.wait_event("loader", "checked")
    assert checked["message"].startswith("passed in ") and checked["message"].endswith("asked by proxy")
    assert checks_run(sup) == 2
    assert sup.index("loader", "check-requested") < sup.index("loader", "checked")
    keys = next(c for c in sup.status()["capabilities"] if c["name"] == "keys")
    assert keys["state"] == "available" and keys["last_check"]["output"] == "keys present"
    assert sup.stop() == 0


def test_a_report_from_a_unit_that_does_not_require_it_is_ignored_once_however_many(supervisor):
    sup = started(supervisor)
    report(sup, "other", "X_CAPABILITY_BROKEN=keys\n", count=200)
    ignored = sup.wait_event("other", "report-ignored")
    assert ignored["message"] == "reported 'keys' broken, which it does not require: ignored"
    report(sup, "proxy", "X_CAPABILITY_BROKEN=keys\n")  # a report that counts, to know the others were read
    sup.wait_event("loader", "checked")
    assert len(sup.events("other", "report-ignored")) == 1
    assert checks_run(sup) == 2  # proxy's only
    assert not [e for e in sup.events(event="check-requested") if "other" in e["message"]]
    assert sup.stop() == 0


def test_a_flood_of_reports_runs_one_or_two_checks(supervisor):
    sup = started(supervisor, check_takes="1")
    report(sup, "proxy", "X_CAPABILITY_BROKEN=keys\nX_REASON=flood\n", count=1000)
    sup.wait_event("loader", "checked")  # by now every report was read (they were sent before it began)
    # the reports that came while the first check ran make one more, run right after it
    wait_until(
        lambda: len(sup.events("loader", "checked")) == len(sup.events("loader", "check-requested")),
        10,
        "every check asked for to have run",
    )
    assert 1 <= len(sup.events("loader", "check-requested")) <= 2
    assert 2 <= checks_run(sup) <= 3  # the first check, then one or two for the 1000 reports
    asked = " ".join(e["message"] for e in sup.events("loader", "checked"))
    assert "more requests" in asked  # the flood was coalesced, and the event says so
    assert sup.stop() == 0


def test_a_failed_triggered_check_loses_the_capability_and_reruns_the_oneshot(supervisor):
    sup = started(supervisor)
    (sup.runtime_dir / "keys").write_text("")  # the keys are gone: only a check can tell
    report(sup, "proxy", "X_CAPABILITY_BROKEN=keys\nX_REASON=signing failed\n")
    checked = sup.wait_event("loader", "checked")
    assert checked["message"].startswith("failed in ")
    lost = sup.wait_event("loader", "lost")
    assert "capability keys lost: check failed" in lost["message"] and "keys missing" in lost["message"]
    sup.wait_event("proxy", "degraded")
    sup.wait_event("loader", "done", count=2)  # re-run
    sup.wait_event("loader", "available", count=2)
    sup.wait_event("proxy", "recovered")
    assert sup.index("loader", "check-requested") < sup.index("loader", "lost")
    assert (sup.runtime_dir / "keys").read_text() == "loaded\n"
    assert sup.stop() == 0


def test_a_hostile_reason_is_escaped_and_bounded(supervisor):
    sup = started(supervisor)
    hostile = "\x1b[31mred\x07{unit}%s\x00" + "A" * 3000  # a datagram holds 4 KiB
    report(sup, "proxy", f"X_CAPABILITY_BROKEN=keys\nX_REASON={hostile}\n")
    message = sup.wait_event("loader", "check-requested")["message"]
    prefix = "keys reported broken by proxy: "
    assert message.startswith(prefix + "\\x1b[31mred\\x07{unit}%s\\x00AAA")
    assert message.endswith("...[2827 more]")  # 3000 + 27 characters once escaped, 200 kept
    assert len(message) == len(prefix) + 200 + len("...[2827 more]")
    assert all(char.isprintable() for char in message)
    sup.wait_event("loader", "checked")
    assert sup.stop() == 0
