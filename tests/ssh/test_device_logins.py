"""A worker's turns of logins to one device (``device_logins``), on a clock the test moves.

The real bursts are in test_proxy_limits.py (12 OpenSSH users against an sshd that takes 3).
"""

from twisted.internet import defer, task

from services.shared.registry_store import Device
from services.ssh_proxy import errors
from services.ssh_proxy.device_logins import DeviceLogins

DEVICE = Device("dev1", "127.0.0.1", 2222, "root", None)


def login(clock, logins, log: list, name: str, hold: defer.Deferred) -> defer.Deferred:
    async def one() -> None:
        async with logins.turn(clock, DEVICE, wait=10):
            log.append(f"{name} in")
            await hold
            log.append(f"{name} out")

    return defer.ensureDeferred(one())


def test_logins_past_the_limit_wait_their_turn_in_order():
    clock, logins, log = task.Clock(), DeviceLogins(2), []
    holds = [defer.Deferred() for _ in range(4)]
    ended = [login(clock, logins, log, str(n), holds[n]) for n in range(4)]
    assert log == ["0 in", "1 in"]
    holds[1].callback(None)
    assert log == ["0 in", "1 in", "1 out", "2 in"]
    for n in (0, 2, 3):
        holds[n].callback(None)
    assert [d.called for d in ended] == [True] * 4 and log[-1] == "3 out"
    assert logins.by_device == {}  # nothing kept for a device with no login in progress


def test_a_login_waiting_past_its_wait_is_refused_saying_why():
    clock, logins, log = task.Clock(), DeviceLogins(1), []
    first = login(clock, logins, log, "first", defer.Deferred())
    second = login(clock, logins, log, "second", defer.Deferred())
    clock.advance(10)
    failure = []
    second.addErrback(failure.append)
    assert failure and failure[0].check(errors.ProxyError)
    assert "no turn to log in within 10s, at most 1 at once" in failure[0].value.message
    assert log == ["first in"] and not first.called
    assert list(logins.by_device) == ["dev1"] and not logins.by_device["dev1"].waiting
