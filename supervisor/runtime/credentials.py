"""Who a service runs as: ``user``, ``group`` and ``umask``, applied by the kernel between fork and
exec (``subprocess``'s ``user``, ``group``, ``extra_groups`` and ``umask``), so no code of ours
runs with half-dropped privileges.

A user brings its own primary group and its supplementary groups (``initgroups``, as ``su`` and
systemd's ``User=`` do), never root's, and its ``HOME``, ``USER`` and ``LOGNAME``; ``group``
replaces the primary group. Only root can switch: a supervisor running as anyone else may only
name itself.
"""

import grp
import os
import pwd

import attrs


class CredentialsError(Exception):
    """A user or group that does not exist, or a switch the supervisor is not allowed to make;
    ``setting`` is the one at fault, ``user`` or ``group``."""

    def __init__(self, setting: str, message: str) -> None:
        super().__init__(message)
        self.setting = setting


@attrs.frozen
class Credentials:
    """None (and umask -1) leaves the supervisor's own, as ``subprocess.Popen`` takes them."""

    user: int | None = None
    group: int | None = None
    groups: tuple[int, ...] | None = None
    umask: int = -1
    env: tuple[tuple[str, str], ...] = ()  # HOME, USER, LOGNAME of a user

    def popen(self) -> dict:
        """The keyword arguments of ``subprocess.Popen`` (and trio's ``open_process``)."""
        return {"user": self.user, "group": self.group, "extra_groups": self.groups, "umask": self.umask}


SUPERVISOR = Credentials()


def resolve(user: str | None, group: str | None, umask: int | None) -> Credentials:
    """The credentials a service asks for (names or numbers); CredentialsError saying why not."""
    entry = _passwd(user) if user is not None else None
    gid = _group(group) if group is not None else None
    uid = None
    if user is not None:
        uid = entry.pw_uid if entry is not None else int(user)
        if gid is None:
            if entry is None:
                raise CredentialsError("user", f"user {user} has no entry in /etc/passwd: give group too")
            gid = entry.pw_gid
    mask = -1 if umask is None else umask
    env = (("HOME", entry.pw_dir), ("USER", entry.pw_name), ("LOGNAME", entry.pw_name)) if entry else ()
    if os.geteuid() != 0:
        _refuse_a_switch(uid, gid, user, group)
        return Credentials(umask=mask, env=env)  # it names the supervisor's own: nothing to change
    if uid is None:
        return Credentials(group=gid, umask=mask)
    groups = tuple(os.getgrouplist(entry.pw_name, gid)) if entry is not None else (gid,)
    return Credentials(uid, gid, groups, mask, env)


def _passwd(user: str) -> pwd.struct_passwd | None:
    """The passwd entry of a name or number; None for a number with no entry."""
    try:
        return pwd.getpwuid(int(user)) if user.isdecimal() else pwd.getpwnam(user)
    except KeyError:
        if user.isdecimal():
            return None
        raise CredentialsError("user", f"user {user!r} does not exist on this machine") from None


def _group(group: str) -> int:
    if group.isdecimal():
        return int(group)
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        raise CredentialsError("group", f"group {group!r} does not exist on this machine") from None


def _refuse_a_switch(uid: int | None, gid: int | None, user: str | None, group: str | None) -> None:
    if uid is not None and uid != os.geteuid():
        raise CredentialsError(
            "user",
            f"user {user}: the supervisor runs as uid {os.geteuid()}, and only root can switch users"
        )
    if gid is not None and gid != os.getegid():
        raise CredentialsError(
            "group",
            f"group {group}: the supervisor runs as gid {os.getegid()}, and only root can switch groups"
        )
