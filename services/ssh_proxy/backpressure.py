"""Reading stops while a peer does not read: what a worker holds to write is bounded.

Windows bound a channel's data, but the receiving peer declares its window (up to 4 GiB), and
nothing bounds requests and the answers to them. A user that declares a huge window and stops
reading, or sends requests whose answers it never reads, made Twisted buffer without limit what
the proxy wrote to it (one user and a device printing zeros: 545 MB in 6 s). OpenSSH stops
reading a peer while its output buffer is full; here, while more than ``OUTPUT_MARK`` bytes wait
to be written on either connection of a session (the user's or the device's), neither is read,
and both are read again once that has been written. The mark is above what one channel at
OpenSSH's 2 MiB window holds, so a transfer at full speed does not reach it.
"""

import attrs
from twisted.internet.interfaces import IPushProducer
from zope.interface import implementer

OUTPUT_MARK = 4 * 1024 * 1024


@attrs.define(eq=False)
class Backpressure:
    """The TCP transports of one user's session, read or not read together."""

    transports: list = attrs.field(factory=list)
    full: set = attrs.field(factory=set)  # the transports above the mark

    def watch(self, tcp) -> None:
        """Bound what waits to be written on ``tcp`` (a TCP transport), and read it with the rest."""
        tcp.registerProducer(_Output(self, tcp), True)
        self.transports.append(tcp)
        if self.full:
            tcp.pauseProducing()

    def _set(self, tcp, full: bool) -> None:
        was = bool(self.full)
        if full:
            self.full.add(tcp)
        else:
            self.full.discard(tcp)
        if bool(self.full) == was:
            return
        for each in self.transports:
            if self.full:
                each.pauseProducing()
            else:
                each.resumeProducing()


def waiting(tcp) -> int:
    """Bytes a Twisted transport holds to write: the sum its own ``_isSendBufferFull`` reads."""
    return len(tcp.dataBuffer) - tcp.offset + tcp._tempDataLen


@implementer(IPushProducer)
@attrs.define(eq=False)
class _Output:
    """Registered as the producer of one transport, Twisted tells it of every write while the
    transport holds more than its ``bufferSize`` (also what it reads at once, which the packet
    layer sizes, so it is left alone), and when all has been written."""

    session: Backpressure
    tcp: object

    def pauseProducing(self) -> None:
        if waiting(self.tcp) > OUTPUT_MARK:
            self.session._set(self.tcp, True)

    def resumeProducing(self) -> None:
        self.session._set(self.tcp, False)
        if self.tcp.disconnecting:  # closing: Twisted waits for a producer before it closes
            self.tcp.unregisterProducer()

    def stopProducing(self) -> None:
        """The connection is gone: it holds nothing back any more."""
        self.session.transports.remove(self.tcp)
        self.session._set(self.tcp, False)
