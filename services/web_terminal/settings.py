"""What every part of the web terminal reads: where the proxy is, its key, and the limits it keeps."""

import attrs
from twisted.conch.ssh import keys

from services.shared.registry_store import Store
from services.web_terminal.proxy_keys import ProxyKeys


@attrs.frozen
class Limits:
    """Every resource a browser can make the web terminal spend, bounded."""

    sessions_per_user: int = 4  # terminals open at once
    # TCP connections at once (HTTP and WebSocket), signed in or not: with the SSH connection to
    # the proxy each terminal also holds, 256 stay well inside the usual 1024 file descriptors.
    connections: int = 256
    connections_per_address: int = 64  # of them from one client address
    failed_sign_ins: int = 10  # per client address at once, then one more a minute / this
    sign_in_failure_period: float = 60.0
    failing_addresses: int = 10_000  # addresses whose failed sign-ins are remembered (an LRU)
    sign_ins_per_user: int = 8  # cookies kept per user; the oldest is forgotten
    idle_timeout: float = 900.0  # seconds without a keystroke or resize before a session is closed
    sign_in_lifetime: float = 12 * 3600.0  # seconds a cookie stays valid
    ping_interval: float = 20.0  # WebSocket pings; two unanswered ones close the session
    first_size_timeout: float = 10.0  # seconds for the page to send the terminal's size
    message_bytes: int = 64 * 1024  # one WebSocket message from the browser (the page sends less)
    request_body_bytes: int = 4096  # an HTTP request body (the sign-in form)
    input_buffer_bytes: int = 1024 * 1024  # keystrokes/paste waiting for the device's window
    # Output sent to the browser but not yet written by xterm.js: above ``high_water`` the SSH
    # channel's window is held, so the device waits instead of the browser's backlog growing.
    high_water: int = 512 * 1024
    low_water: int = 128 * 1024
    channel_window: int = 256 * 1024  # the SSH channel's receive window


@attrs.frozen
class Settings:
    registry: Store
    proxy_host: str
    proxy_port: int
    proxy_host_keys: ProxyKeys  # the keys to accept, from the proxy's host-keys directory (*.pub)
    key: keys.Key = attrs.field(repr=False)  # the web terminal's own (delegate) private key
    limits: Limits = Limits()
    connect_timeout: float = 10.0  # TCP connect to the proxy
    login_timeout: float = 30.0  # SSH login and the proxy reaching the device
