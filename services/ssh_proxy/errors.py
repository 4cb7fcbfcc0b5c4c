"""Every failure a user can meet, each with the one line the user reads and a short audit code.

The proxy answers every failure with exactly one of these lines on the user's stderr and exit
status 255, never a generic "host error": the incident was made worse by not saying what failed.
"""

import enum

import attrs

from services.shared import log
from services.shared.registry_store import NAME_RULE

DEVICE_TEXT_LIMIT = 200  # characters of a device's own words in a line
NO_IDENTITIES = "the proxy has no identity keys loaded (capability ssh-identity-keys unavailable)"


class Dependency(enum.Enum):
    """What the proxy itself depends on to reach any device: a failure of one of them is not the
    user's nor the device's, and is worth waiting for while it is repaired (``hold``)."""

    AGENT = "ssh-agent"  # the agent unreachable, or refusing to sign
    KEYS = "ssh-identity-keys"  # the agent holds no identity keys


@attrs.frozen
class ProxyError(Exception):
    """A failure to reach a device, explained for the user (``message``) and the audit (``code``).

    ``broken`` names the proxy's own dependency at fault, if any."""

    code: str
    message: str
    broken: Dependency | None = None

    def __str__(self) -> str:
        return self.message


def _no_access(user: str, uuid: str) -> str:
    """One line for a device that does not exist and one the user was not granted: a user learns
    nothing of the devices of others. The audit code tells the operator which it was."""
    return f"user {user} has no access to device {uuid} (unknown device, or not authorised)"


def bad_device_name(name: str) -> ProxyError:
    """A name that cannot be a device's (the registry's rule): refused before any lookup."""
    return ProxyError("bad-device-name", f"device name '{log.printable(name, 64)}' is not valid: {NAME_RULE}")


def unknown_device(user: str, uuid: str) -> ProxyError:
    return ProxyError("unknown-device", _no_access(user, uuid))


def not_authorised(user: str, uuid: str) -> ProxyError:
    return ProxyError("not-authorised", _no_access(user, uuid))


def unreachable(uuid: str, address: str, port: int, why: str) -> ProxyError:
    return ProxyError(
        "device-unreachable", f"device {uuid} is offline or unreachable ({address}:{port}: {why})"
    )


def host_key_mismatch(uuid: str, pinned: str, presented: str) -> ProxyError:
    return ProxyError(
        "host-key-mismatch",
        f"device {uuid} host key mismatch: the registry pins {pinned}, the device presented {presented}",
    )


def keys_refused(uuid: str, login: str, tried: str, agent_failed: bool = False) -> ProxyError:
    """The device took none of the keys; ``agent_failed``: the agent would not sign one of them."""
    return ProxyError(
        "keys-refused",
        f"device {uuid} refused the proxy's keys for {login} (tried {tried})",
        Dependency.AGENT if agent_failed else None,
    )


def no_identities() -> ProxyError:
    return ProxyError("no-identity-keys", NO_IDENTITIES, Dependency.KEYS)


def agent_unavailable(why: str) -> ProxyError:
    return ProxyError(
        "no-identity-keys",
        f"the proxy cannot reach its ssh-agent: {why} (capability ssh-identity-keys unavailable)",
        Dependency.AGENT,
    )


def usage() -> ProxyError:
    return ProxyError(
        "usage",
        "no device chosen: use `ssh USER@PROXY host DEVICE_UUID [COMMAND]` or `ssh USER+DEVICE_UUID@PROXY`",
    )


def device_closed(uuid: str, why: str) -> ProxyError:
    return ProxyError("device-closed", f"device {uuid} closed the connection ({_device_text(why)})")


def session_refused(why: str) -> ProxyError:
    return ProxyError("session-refused", f"the device refused a session channel ({_device_text(why)})")


def _device_text(text: str) -> str:
    """What a device said (a disconnect reason, why it refused a channel), for the user's terminal:
    escaped and bounded, so a hostile device cannot send escape sequences or pages of text to it."""
    return log.printable(text, DEVICE_TEXT_LIMIT)


def internal() -> ProxyError:
    return ProxyError("internal-error", "the proxy failed unexpectedly (see its log)")
