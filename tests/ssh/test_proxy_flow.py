"""Flow control on each side of the proxy, with real OpenSSH clients and sshd devices.

The device runs ahead of a slow user by the relay's buffer: what it sends past the user's window
waits in the proxy, and the end of the session (stderr, exit status, EOF, close) must still reach
the user after the last byte, even from a device whose connection is gone by then. The balena
form opens the user's window itself (``Bridge``).
"""

import time

from tests.ssh import proxy_stack

stack = proxy_stack.stack  # the fixture

SIZE = 12_000_000


def read_all(client, seconds: float, pause: float = 0) -> int:
    """How many bytes ``client`` wrote to stdout before it closed it (within ``seconds``), read in
    pieces of 256 KiB with ``pause`` seconds after each (a slow reader)."""
    received, deadline = 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        chunk = client.stdout.read1(256 * 1024)
        if not chunk:
            break
        received += len(chunk)
        time.sleep(pause)
    return received


def test_a_slow_reader_gets_every_byte_then_the_exit_status(stack):
    device = stack.device()
    client = stack.popen(f"alice+{device.uuid}", f"head -c {SIZE} /dev/zero; echo done >&2; exit 7")
    try:
        # About 25 MB/s at most: the device is far ahead, held by its window.
        received = read_all(client, 60, pause=0.01)
        assert client.wait(30) == 7
        assert (received, client.stderr.read()) == (SIZE, b"done\n")
    finally:
        client.kill()
        client.wait(10)


def test_the_balena_form_moves_data_both_ways(stack):
    device = stack.device()
    download = stack.ssh("alice", "host", device.uuid, f"head -c {SIZE} /dev/zero", timeout=60)
    assert (download.returncode, len(download.stdout)) == (0, SIZE)
    upload = stack.ssh("alice", "host", device.uuid, "wc -c", input=bytes(SIZE), timeout=60)
    assert (upload.returncode, upload.stdout.strip()) == (0, str(SIZE).encode())


def test_what_a_device_sent_before_its_connection_went_reaches_a_slow_user_first(stack):
    """3.5 MB fit the window and the buffer: the device sends them all, then its connection is
    cut (its sshd killed) while the user has read nothing. The user still reads every byte, and
    only then hears that the device closed the connection."""
    device = stack.device()
    size = 3_500_000
    client = stack.popen(f"alice+{device.uuid}", f"head -c {size} /dev/zero; sleep 1; kill -9 $PPID")
    try:
        time.sleep(4)  # the device's connection is gone before the user reads
        received = read_all(client, 30)
        assert client.wait(30) == 255
        told = client.stderr.read().decode()
        assert received == size and "closed the connection" in told, (received, told)
    finally:
        client.kill()
        client.wait(10)

