"""What the proxy workers count, for Prometheus: sessions, bytes, and how long logins take.

prometheus_client's metrics, in multiprocess mode when ``PROMETHEUS_MULTIPROC_DIR`` is set (the
supervisor sets it under ``--metrics`` and serves every worker's on its one endpoint, see
``supervisor.runtime.metrics``); without it they are kept in memory and nobody reads them.

- ``ssh_proxy_sessions_open``: authenticated connections now (summed over the live workers);
- ``ssh_proxy_sessions_total{result}``: ended sessions by their audit result (``ok``,
  ``not-authorised``, ``device-unreachable``, ``no-identity-keys``...);
- ``ssh_proxy_bytes_total{direction}``: ``to_device`` and ``to_user``, as the audit lines count;
- ``ssh_proxy_handshake_seconds``: from accept to the user logged in (version and key exchange,
  authentication with the registry lookups): what a user waits before the device is dialled;
- ``ssh_proxy_device_setup_seconds``: from the device chosen to its session ready (registry,
  agent, TCP, the device's key exchange and our login to it), for devices reached.
"""

from prometheus_client import Counter, Gauge, Histogram

from services.ssh_proxy.audit import SessionRecord

# An SSH login on a LAN takes tens of milliseconds; a slow device or registry, seconds.
SECONDS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

SESSIONS_OPEN = Gauge(
    "ssh_proxy_sessions_open", "authenticated connections open", multiprocess_mode="livesum"
)
SESSIONS = Counter("ssh_proxy_sessions", "sessions ended, by their audit result", ["result"])
BYTES = Counter("ssh_proxy_bytes", "bytes relayed, by direction", ["direction"])
HANDSHAKE = Histogram("ssh_proxy_handshake_seconds", "from accept to the user logged in", buckets=SECONDS)
DEVICE_SETUP = Histogram(
    "ssh_proxy_device_setup_seconds", "from the device chosen to its session ready", buckets=SECONDS
)


def session_ended(record: SessionRecord, bytes_to_device: int, bytes_to_user: int) -> None:
    SESSIONS_OPEN.dec()
    SESSIONS.labels(record.result).inc()
    BYTES.labels("to_device").inc(bytes_to_device)
    BYTES.labels("to_user").inc(bytes_to_user)
