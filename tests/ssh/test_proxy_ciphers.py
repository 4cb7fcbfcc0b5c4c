"""Every cipher and MAC the proxy offers, against real OpenSSH on both sides, with rekeying.

Each case forces one algorithm on the user's side (``ssh -c``/``-m``) and on the device's
(sshd's ``Ciphers``/``MACs``: nothing else is accepted there), then sends 20 MB of random bytes
through ``cat`` and back in one session, both directions at once, while the client and the
device's sshd each rekey several times (``RekeyLimit``). A wrong byte anywhere in a
construction fails the MAC or tag check and ends the session; a wrong rekey stalls or garbles it.
"""

import os
import socket

import pytest
from twisted.conch.ssh.common import NS

from services.ssh_proxy import aead
from tests.ssh import proxy_stack

stack = proxy_stack.stack  # the fixture

SIZE = 20_000_000
REKEY = "RekeyLimit 4M\n"  # per direction: about 5 rekeys each way for 20 MB


def device_log(cipher: str, mac: str | None) -> str:
    config = f"Ciphers {cipher}\n" + (f"MACs {mac}\n" if mac else "")
    return config + REKEY + "LogLevel DEBUG1\n"


@pytest.mark.parametrize(
    ("cipher", "mac"),
    [
        ("aes128-gcm@openssh.com", None),
        ("aes256-gcm@openssh.com", None),
        ("chacha20-poly1305@openssh.com", None),
        ("aes128-ctr", "hmac-sha2-256-etm@openssh.com"),
        ("aes256-ctr", "hmac-sha2-512-etm@openssh.com"),
        ("aes128-ctr", "hmac-sha2-256"),
    ],
)
def test_round_trip_with_rekeys_on_both_sides(stack, cipher, mac):
    device = stack.device(config=device_log(cipher, mac))
    options = ("-v", "-c", cipher, "-o", "RekeyLimit=4M") + (("-m", mac) if mac else ())
    data = os.urandom(SIZE)
    result = stack.ssh(f"alice+{device.uuid}", "cat", options=options, input=data, timeout=120)
    client_log = result.stderr.decode(errors="replace")
    assert result.returncode == 0, client_log[-2000:]
    assert result.stdout == data
    negotiated = f"cipher: {cipher} MAC: {mac or '<implicit>'}"
    assert f"client->server {negotiated}" in client_log
    assert client_log.count("SSH2_MSG_NEWKEYS received") >= 3  # the first key exchange and rekeys
    sshd_log = device.sshd.log.read_text(errors="replace")
    assert f"client->server {negotiated}" in sshd_log
    assert sshd_log.count("SSH2_MSG_NEWKEYS received") >= 3


def test_defaults_negotiate_aead_and_strict_kex_on_both_sides(stack):
    """A client on its defaults gets chacha20-poly1305; the proxy asks the device for AES-GCM.

    Strict KEX (the Terrapin fix) is in force on both connections: each OpenSSH peer resets its
    sequence numbers at NEWKEYS only when both sides offered it.
    """
    device = stack.device(config="LogLevel DEBUG1\n")
    result = stack.ssh(f"alice+{device.uuid}", "echo up", options=("-v",))
    client_log = result.stderr.decode(errors="replace")
    assert (result.returncode, result.stdout) == (0, b"up\n"), client_log[-2000:]
    assert "client->server cipher: chacha20-poly1305@openssh.com MAC: <implicit>" in client_log
    assert "resetting send seqnr" in client_log
    sshd_log = device.sshd.log.read_text(errors="replace")
    assert "client->server cipher: aes128-gcm@openssh.com MAC: <implicit>" in sshd_log
    assert "resetting send seqnr" in sshd_log


def test_strict_kex_refuses_a_packet_before_kexinit(stack):
    """A client that offers strict KEX must send KEXINIT first: an IGNORE before it ends the connection.

    That one extra packet is what the Terrapin attack inserts to shift the sequence numbers.
    """
    kexinit = os.urandom(16) + b"".join(
        NS(names)
        for names in (
            b"curve25519-sha256,kex-strict-c-v00@openssh.com",
            b"ssh-ed25519",
            *[b"aes128-gcm@openssh.com"] * 2,
            *[b"hmac-sha2-256"] * 2,
            *[b"none"] * 2,
            b"",
            b"",
        )
    ) + bytes(5)
    with socket.create_connection(("127.0.0.1", stack.port), timeout=10) as client:
        client.sendall(b"SSH-2.0-test\r\n")
        client.sendall(b"".join((*aead.frame(8, 0, 2, (NS(b"inserted"),)), *aead.frame(8, 0, 20, (kexinit,)))))
        received = b""
        while chunk := client.recv(65536):  # the worker closes the connection (bounded by the timeout)
            received += chunk
    assert b"strict KEX violation: KEXINIT was not the first packet" in received
