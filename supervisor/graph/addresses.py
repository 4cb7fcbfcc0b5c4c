"""Socket addresses as graphs write them: ``HOST:PORT`` (``[V6]:PORT`` too) and ``tcp:HOST:PORT`` /
``unix:PATH`` listen specs.

One parser for everyone who reads them: the schema checks a literal value when the graph loads,
lint checks values expanded with the variables it knows, and the runtime listens and probes on
the values it expanded. A ``${VAR}`` that expands to a port such as ``"80a"`` is then the same
clear message at run time as it is in lint, never a ``ValueError``.
"""

import attrs

MAX_PORT = 65535

# The patterns the schema checks a graph's literal text with (and publishes in graphs/schema.json):
# a port from 0 to 65535, or a ${VAR} reference that lint and the runtime parse once expanded.
_NUMBER = r"(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})"
_HOST = r"(\[[0-9A-Fa-f:.]+\]|\$\{[^}]*\}|[^:\[\]/?#]+)"
HOST_PORT_PATTERN = rf"^{_HOST}:({_NUMBER}|\$\{{.*)$"
LISTEN_PATTERN = rf"^(tcp:{_HOST}:({_NUMBER}|\$\{{.*)|unix:.+)$"
URL_PATTERN = rf"^https?://([^/?#@]*@)?{_HOST}(:({_NUMBER}|\$\{{[^/?#]*))?([/?#].*)?$"


class AddressError(ValueError):
    """An address that cannot be used; the message says what is wrong and what to write."""


@attrs.frozen
class Listen:
    """A parsed listen spec: ``tcp`` with a host and a port, or ``unix`` with a path (host)."""

    family: str
    host: str
    port: int | None = None

    def overlaps(self, other: "Listen") -> bool:
        """Whether two sockets would contend for one address: the same path, or the same port
        with the same host or a wildcard host (0.0.0.0, ::, empty) on either side."""
        if self.family != other.family:
            return False
        if self.family == "unix":
            return self.host == other.host
        wildcard = ("", "0.0.0.0", "::")
        same_host = self.host == other.host or self.host in wildcard or other.host in wildcard
        return self.port == other.port and self.port != 0 and same_host


def host_port(address: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[V6]:PORT`` too) as a host and a port number from 0 to 65535."""
    host, colon, port = address.rpartition(":")
    if not colon:
        raise AddressError(f"{address!r} has no port: write HOST:PORT, such as 127.0.0.1:8080")
    if not port.isdecimal() or not port.isascii() or int(port) > MAX_PORT:
        raise AddressError(f"{address!r}: the port {port!r} is not a number from 0 to {MAX_PORT}")
    return host.strip("[]"), int(port)


def parse_listen(spec: str) -> Listen:
    """A ``tcp:HOST:PORT`` or ``unix:PATH`` spec; AddressError saying what to write."""
    family, _, address = spec.partition(":")
    if family == "unix" and address:
        return Listen("unix", address)
    if family == "tcp":
        host, port = host_port(address)
        return Listen("tcp", host, port)
    raise AddressError(f'{spec!r} is not a socket: write "tcp:HOST:PORT" or "unix:PATH"')
