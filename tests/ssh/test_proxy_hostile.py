"""What a hostile client can still try once the limits of ``test_proxy_limits`` hold, each with its bytes.

Raw packets from the hostile Conch client (``hostile_client``) or ``conch_client``, real OpenSSH
where it can do it, and the worker's own stderr and audit lines read back.
"""

import struct

from twisted.conch.ssh.common import NS

from tests.ssh import proxy_stack
from tests.ssh.hostile_client import Connection
from tests.ssh.test_log_safety import attack

stack = proxy_stack.stack  # the fixture


def worker_lines(stack, text: str) -> list[str]:
    """The stopped worker's stderr lines that contain ``text``."""
    stack.stop()
    return [line for line in stack.worker.stderr.read().splitlines() if text in line]


def test_messages_for_channels_that_do_not_exist_end_the_connection_with_one_log_line(stack):
    """Each used to be one warning line in the worker's log: a logged-in user wrote them at will."""
    device = stack.device()
    stray = ("packet", 94, struct.pack(">L", 999) + NS(b"x"))  # CHANNEL_DATA for channel 999
    plan = Connection(steps=(("login", f"alice+{device.uuid}".encode()), ("open", b"session", b""), *[stray] * 50))
    result = attack(stack, [plan])[0]
    assert result["login"] == "success" and 91 in result["received"]  # the session channel is open
    assert result["closed_by_proxy"]
    assert len(worker_lines(stack, "channels that do not exist")) == 1


def test_a_second_service_request_ends_the_connection(stack):
    """Conch accepted ``ssh-userauth`` again: before login it restarted MaxAuthTries' count (six
    more tries each time), after login it replaced the user's connection service."""
    again = ("packet", 5, NS(b"ssh-userauth"))  # SERVICE_REQUEST
    wrong = ("auth", b"alice", b"ssh-connection", b"publickey", b"\x00" + NS(b"ssh-ed25519") + NS(b"x"))
    before_login, after_login = attack(
        stack, [Connection(steps=(*[wrong] * 5, again, *[wrong] * 5)), Connection(steps=(("login", b"alice"), again))]
    )
    assert before_login["received"] == [51] * 5 and before_login["closed_by_proxy"]
    assert after_login["login"] == "success" and after_login["closed_by_proxy"]
    assert len(worker_lines(stack, "Traceback")) == 0
