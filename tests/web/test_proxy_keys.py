"""ProxyKeys: the proxy's host keys, read once and again only when their files change."""

import os

import pytest
from twisted.conch.ssh import keys

from services.shared.errors import ServiceError
from services.web_terminal.proxy_keys import ProxyKeys
from tests.helpers.services import keygen


def blob(public_line: str) -> bytes:
    return keys.Key.fromString(public_line).blob()


def test_unchanged_files_are_not_read_again_and_any_change_is_seen(tmp_path):
    _, first = keygen(tmp_path, "ed25519", "ssh_host_ed25519_key")
    proxy_keys = ProxyKeys(str(tmp_path))
    read = proxy_keys.current()
    assert read == {blob(first)}
    assert proxy_keys.current() is read  # the same set: nothing was read again

    _, second = keygen(tmp_path, "ed25519", "another_key")  # a key added
    assert proxy_keys.current() == {blob(first), blob(second)}

    path = tmp_path / "ssh_host_ed25519_key.pub"
    _, third = keygen(tmp_path, "ed25519", "replacement")
    info = path.stat()
    path.write_bytes((tmp_path / "replacement.pub").read_bytes())  # rewritten in place, same name
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))  # its old time put back (cp -p does)
    (tmp_path / "replacement.pub").unlink()
    assert proxy_keys.current() == {blob(third), blob(second)}


def test_a_directory_left_without_keys_fails_each_session_until_keys_are_back(tmp_path):
    _, line = keygen(tmp_path, "ed25519", "ssh_host_ed25519_key")
    proxy_keys = ProxyKeys(str(tmp_path))
    assert proxy_keys.current() == {blob(line)}
    public = tmp_path / "ssh_host_ed25519_key.pub"
    kept = public.read_bytes()
    public.unlink()
    for _ in range(2):
        with pytest.raises(ServiceError, match=r"no host keys of the proxy in .* \(\*\.pub\)"):
            proxy_keys.current()
    public.write_bytes(kept)
    assert proxy_keys.current() == {blob(line)}
