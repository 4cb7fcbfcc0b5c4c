"""What every session of a worker shares: where the registry and the agent are, and how long to wait."""

import attrs

from services.ssh_proxy.device_logins import DeviceLogins
from services.ssh_proxy.limits import Limits
from services.ssh_proxy.registry_access import Registry


@attrs.frozen
class Settings:
    registry: Registry
    agent_path: str
    limits: Limits = Limits()
    agent_timeout: float = 5.0
    # A device that does not answer is reported as offline after this long (TCP connect), and one
    # that connects but never completes the SSH handshake and authentication after the second.
    connect_timeout: float = 10.0
    handshake_timeout: float = 20.0
    device_logins: DeviceLogins = attrs.field(
        default=attrs.Factory(lambda settings: DeviceLogins(settings.limits.max_device_logins), takes_self=True)
    )
