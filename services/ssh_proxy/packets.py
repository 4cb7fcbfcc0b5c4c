"""The proxy's SSH packet layer: AEAD and EtM protection, strict KEX, and a receive path without copies.

A mixin for both of the proxy's transports (the user's ``UserTransport``, the device's
``DeviceTransport``), placed before Conch's transport class. Conch keeps what it does well, the
key exchange and its state machine; this layer takes over where a packet meets the wire:

- ``_keySetup``: the negotiated names get a ``Suite`` (``aead.protection`` for each direction)
  instead of Conch's ``SSHCiphers``, which knows only encrypt-and-MAC. ``_newKeys`` switches to
  it, as Conch switches its own.
- ``sendPacket``: frames, pads (the length counts in the alignment only when it is encrypted) and
  seals one packet, then writes the sealed chunks as they are. A payload may come in parts (the
  relay's rewritten header and a view of the data), read once, by the cipher (``aead.frame``).
- ``dataReceived``: packets are cut from what was read with views (the start of a packet left
  over from one read is completed with the bytes it lacks from the next, not joined to all of
  it), the length read once and bounded, the tag verified
  before anything is decrypted (EtM, AEAD). CHANNEL_DATA is handed on as a view of the decrypted
  packet, so it reaches the relay without a copy; other messages as ``bytes``, as Conch's
  services expect.

Strict KEX (OpenSSH's answer to the Terrapin attack, ``kex-strict-*-v00@openssh.com``) comes
with it: chacha20-poly1305 takes its nonce from the sequence number, so an attacker on the path
who shifted sequence numbers during the first key exchange could delete a packet unnoticed.
When both sides offer it, the first key exchange admits only its own messages and sequence
numbers restart at zero after each NEWKEYS. docs/ssh-aead.md describes it all.
"""

import socket

from twisted.conch.ssh import transport
from twisted.conch.ssh.common import getNS

from services.ssh_proxy import aead, backpressure, wire

# OpenSSH's limit on a packet (PACKET_MAX_SIZE): anything longer is an attack or garbage, and a
# length is refused before its bytes are waited for, so a peer cannot make a worker buffer more.
MAX_PACKET = 256 * 1024
MIN_PACKET = 1 + 4  # the padding length and the least padding (RFC 4253 6; OpenSSH refuses less)
# Read and send up to this much per reactor turn (Twisted's defaults are 64 KiB and 128 KiB): a
# busy connection is served in fewer, larger pieces, each holding many 32 KiB packets, and the
# packets one read makes go to the other side in one ``sendmsg`` (``_write``), so each process
# of the chain is woken once for them. 1 MiB took a worker's CPU per GB relayed from 1.88 s to
# 1.65 s each way against 256 KiB (512 KiB, 2 and 4 MiB were no better); what the read holds is
# gone when it has been relayed.
READ_SIZE = SEND_SIZE = 1024 * 1024
# But a read holds at most about this many packets' worth of the size the last read's packets
# had: a MiB of the smallest packets (36 bytes: keystrokes, or a peer flooding) is 29,000 of
# them, 0.3 s of one worker's time before its other sessions get a turn. Each read is sized from
# the one before (``_size_next_read``), between these bounds.
PACKETS_PER_READ = 256
MIN_READ_SIZE = 16 * 1024

# What one ``sendmsg`` gathers at most (Linux's IOV_MAX); a longer burst is left to Twisted.
_IOV_MAX = 1024


class _Burst:
    """The packets written while a read is handled, per connection, sent when it is done.

    One per process, as the reactor is: a read of one connection writes to the other.
    """

    def __init__(self) -> None:
        self.open = False
        self.writers: list[PacketLayer] = []

    def __enter__(self) -> None:
        self.open, self.writers = True, []

    def __exit__(self, *exc) -> None:
        writers, self.open = self.writers, False
        for layer in writers:
            chunks, layer._outbox = layer._outbox, []
            layer._send_now(chunks)


_burst = _Burst()

_STRICT_CLIENT = b"kex-strict-c-v00@openssh.com"
_STRICT_SERVER = b"kex-strict-s-v00@openssh.com"
_KEX_MESSAGES = {transport.MSG_DISCONNECT, transport.MSG_KEXINIT, transport.MSG_NEWKEYS, *range(30, 50)}
_SEQUENCE = 0xFFFFFFFF
_RELAYED_AS_VIEWS = {wire.CHANNEL_DATA, wire.CHANNEL_EXTENDED_DATA}


class Suite:
    """Both directions' protection, negotiated but not yet in use: what Conch's ``SSHCiphers`` is.

    Conch reads the names (``isEncrypted``, ``isVerified``), calls ``setKeys`` with the derived
    keys, and a client checks ``encBlockSize`` to know whether its keys are ready.
    """

    encBlockSize = 0

    def __init__(self, outCipType: bytes, inCipType: bytes, outMACType: bytes, inMACType: bytes) -> None:
        self.outCipType, self.inCipType = outCipType, inCipType
        self.outMACType, self.inMACType = outMACType, inMACType

    def setKeys(self, outIV, outKey, inIV, inKey, outInteg, inInteg) -> None:
        self.sealer = aead.protection(self.outCipType, self.outMACType, outKey, outIV, outInteg, True)
        self.opener = aead.protection(self.inCipType, self.inMACType, inKey, inIV, inInteg, False)
        self.encBlockSize = self.sealer.block


class PacketLayer:
    """Mixed into a Conch ``SSHServerTransport`` or ``SSHClientTransport`` subclass, before it."""

    _sealer = _opener = aead.Plain()
    strict_kex = False
    _initial_kex = True
    _wanted: int | None = None  # bytes of the packet being received, once its length is known
    _rest = b""  # received bytes not yet dispatched: the start of the next packet
    _socket: socket.socket | None = None  # the connection's socket, written to directly
    _outbox: list = []  # sealed chunks waiting for the end of the read (replaced, never extended, when empty)
    _packets = 0  # packets received so far: what sizes the next read

    def connectionMade(self) -> None:
        self.transport.bufferSize, self.transport.SEND_LIMIT = READ_SIZE, SEND_SIZE
        handle = getattr(self.transport, "getHandle", lambda: None)()
        self._socket = handle if isinstance(handle, socket.socket) else None
        # A relay answers small messages (channel requests, replies, exit status) at once: Nagle's
        # algorithm would hold each behind the peer's delayed ACK of what went before.
        self.transport.setTcpNoDelay(True)
        ours = _STRICT_CLIENT if self.isClient else _STRICT_SERVER
        self.supportedKeyExchanges = [*self.supportedKeyExchanges, ours]
        super().connectionMade()

    def ssh_KEXINIT(self, packet: bytes) -> None:
        if self._initial_kex:
            theirs = _STRICT_SERVER if self.isClient else _STRICT_CLIENT
            self.strict_kex = theirs in getNS(packet[16:])[0].split(b",")
            if self.strict_kex and self.incomingPacketSequence != 1:
                self.sendDisconnect(
                    transport.DISCONNECT_PROTOCOL_ERROR,
                    b"strict KEX violation: KEXINIT was not the first packet",
                )
                return
        super().ssh_KEXINIT(packet)

    def _keySetup(self, sharedSecret: bytes, exchangeHash: bytes) -> None:
        chosen = self.nextEncryptions
        self.nextEncryptions = Suite(chosen.outCipType, chosen.inCipType, chosen.outMACType, chosen.inMACType)
        super()._keySetup(sharedSecret, exchangeHash)

    def _newKeys(self) -> None:
        self._sealer, self._opener = self.nextEncryptions.sealer, self.nextEncryptions.opener
        # The pseudo-algorithm belongs in the first KEXINIT only.
        self.supportedKeyExchanges = [
            name for name in self.supportedKeyExchanges if name not in (_STRICT_CLIENT, _STRICT_SERVER)
        ]
        super()._newKeys()

    def sendPacket(self, messageType: int, payload) -> None:
        """Seal and write one packet (held while a key exchange forbids it, as Conch does).

        ``payload`` is bytes, or a tuple of bytes-like parts of one payload: the relay passes a
        rewritten channel header and a view of the data it received, which the cipher reads
        where it is.
        """
        if self._keyExchangeState != self._KEY_EXCHANGE_NONE:
            if not self._allowedKeyExchangeMessageType(messageType):
                self._blockedByKeyExchange.append((messageType, payload))
                return
        sealer, seq = self._sealer, self.outgoingPacketSequence
        parts = payload if type(payload) is tuple else (payload,)
        packet = aead.frame(sealer.block, sealer.aad, messageType, parts)
        self._write(sealer.seal(seq, packet))
        if messageType == transport.MSG_NEWKEYS and self.strict_kex:
            self.outgoingPacketSequence = 0
        else:
            self.outgoingPacketSequence = (seq + 1) & _SEQUENCE

    def _write(self, chunks: tuple[bytes, ...]) -> None:
        """Send one sealed packet now, or with the others sealed while one read is handled.

        Twisted's transport holds every write until a later reactor turn finds the socket
        writable, and then joins what it holds into one bytes object: a second copy of every
        relayed byte, and two ``epoll_ctl`` calls per burst to watch for writability. Here a
        packet goes to the kernel at once, its chunks gathered by ``sendmsg`` where they are; the
        packets one read of either connection makes (up to ``READ_SIZE`` relayed) go in one
        ``sendmsg`` when that read is done, so the peer is woken once for them, not per packet.
        """
        if _burst.open:
            if self._outbox:
                self._outbox.extend(chunks)
            else:
                self._outbox = list(chunks)
                _burst.writers.append(self)
        else:
            self._send_now(chunks)

    def _send_now(self, chunks) -> None:
        """Hand ``chunks`` to the socket; what it does not take is left to the transport, which
        keeps the order, the producers' backpressure and the closing handshake."""
        tcp = self.transport
        if self._socket is None or tcp.disconnecting or not tcp.connected or backpressure.waiting(tcp):
            tcp.writeSequence(chunks)
            return
        try:
            sent = self._socket.sendmsg(chunks) if len(chunks) <= _IOV_MAX else 0
        except OSError:  # full (EAGAIN), or broken: Twisted's own write waits, or finds out and closes
            sent = 0
        for index, chunk in enumerate(chunks):
            if sent < len(chunk):
                tcp.writeSequence((chunk[sent:], *chunks[index + 1 :]))
                return
            sent -= len(chunk)

    def getPacket(self) -> None:
        """Conch's own reading loop, which runs once after the version line, finds nothing here:
        ``dataReceived`` reads every packet."""
        return None

    def dataReceived(self, data: bytes) -> None:
        before = self._packets
        if _burst.open:  # a packet handled here made another connection deliver what it read
            self._received(data)
        else:
            with _burst:
                self._received(data)
        self._size_next_read(len(data), self._packets - before)

    def _size_next_read(self, received: int, packets: int) -> None:
        """Read next about ``PACKETS_PER_READ`` packets of the size these were, within the bounds;
        twice as much when this read did not even finish one (a large packet on its way)."""
        tcp = self.transport
        size = received // packets * PACKETS_PER_READ if packets else tcp.bufferSize * 2
        tcp.bufferSize = min(max(size, MIN_READ_SIZE), READ_SIZE)

    def _received(self, data: bytes) -> None:
        if not self.gotVersion:
            super().dataReceived(data)  # Conch reads the version line and keeps what follows in buf
            if not self.gotVersion:
                return
            data, self.buf = self.buf, b""
        start = self._complete(data) if self._rest else 0
        if self._rest:  # all of ``data`` went to the packet begun before, still not whole
            return
        offset = self._read(data, start)
        # Immutable bytes, not a bytearray resized in place: a view of it may outlive this call
        # (a traceback kept by a Deferred keeps this frame), and would forbid the resize.
        self._rest = data[offset:]

    def _complete(self, data: bytes) -> int:
        """Finish the packet an earlier read began with only the bytes it lacks from ``data``, not
        a copy of all of ``data`` joined to it; how many bytes of ``data`` that took."""
        taken = 0
        while self._rest and taken < len(data) and not self.transport.disconnecting:
            goal = self._opener.head if self._wanted is None else self._wanted
            joined = self._rest + memoryview(data)[taken : taken + goal - len(self._rest)]
            taken += len(joined) - len(self._rest)
            self._rest = joined[self._read(joined, 0) :]
        return taken

    def _read(self, received: bytes, offset: int) -> int:
        """Dispatch every whole packet in ``received`` from ``offset``; where the first one left begins."""
        view = memoryview(received)
        while not self.transport.disconnecting:
            opener = self._opener
            available = len(view) - offset
            if self._wanted is None:
                if available < opener.head:
                    break
                seq = self.incomingPacketSequence
                length = opener.length(seq, view[offset : offset + opener.head])
                if not MIN_PACKET <= length <= MAX_PACKET or (length + 4 - opener.aad) % opener.block:
                    self.sendDisconnect(transport.DISCONNECT_PROTOCOL_ERROR, b"bad packet length")
                    break
                self._wanted = 4 + length + opener.tag
            if available < self._wanted:
                break
            end = offset + self._wanted
            self._wanted = None
            try:
                plain = opener.open(self.incomingPacketSequence, view[offset:end])
            except aead.BadPacket:
                self.sendDisconnect(transport.DISCONNECT_MAC_ERROR, b"bad MAC")
                break
            offset = end
            self._packets += 1
            self._dispatch(plain)
        return offset

    def _dispatch(self, plain: bytes) -> None:
        """One decrypted packet (padding length, message, payload, padding) to its handler."""
        padding = plain[0]
        if padding < 4 or padding + 2 > len(plain):
            self.sendDisconnect(transport.DISCONNECT_PROTOCOL_ERROR, b"bad padding length")
            return
        number = plain[1]
        self.incomingPacketSequence = (self.incomingPacketSequence + 1) & _SEQUENCE
        if number == transport.MSG_NEWKEYS:
            self._initial_kex = False
            if self.strict_kex:
                self.incomingPacketSequence = 0
        elif self.strict_kex and self._initial_kex and number not in _KEX_MESSAGES:
            self.sendDisconnect(
                transport.DISCONNECT_PROTOCOL_ERROR,
                b"strict KEX violation: unexpected message during key exchange",
            )
            return
        end = len(plain) - padding
        if number in _RELAYED_AS_VIEWS and self.service is not None:
            # What Conch's ``dispatchMessage`` does with any message from 50 up, one call sooner.
            self.service.packetReceived(number, memoryview(plain)[2:end])
        else:
            self.dispatchMessage(number, plain[2:end])
