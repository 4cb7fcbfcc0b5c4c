"""Per-service user, group, umask and env_file: the child as the kernel sees it in /proc (the
suite runs as root, as the supervisor does in a container)."""

import os
import pwd

from examples.demo.stack import wait_until

REPORT = "echo HOME=$HOME USER=$USER FROM_FILE=$FROM_FILE OVERRIDDEN=$OVERRIDDEN; exec sleep 60"


def _status(pid: int) -> dict[str, str]:
    lines = open(f"/proc/{pid}/status").read().splitlines()
    return dict(line.split(":\t", 1) for line in lines if ":\t" in line)


def test_a_service_runs_as_its_user_with_only_that_users_groups(supervisor, tmp_path):
    nobody = pwd.getpwnam("nobody")
    (tmp_path / "app.env").write_text("# read at start\nFROM_FILE=file\nOVERRIDDEN=file\n")
    sup = supervisor(f"""
    version = 1
    [services.dropped]
    command = ["sh", "-c", "{REPORT}"]
    user = "nobody"
    umask = "027"
    env_file = "app.env"
    environment = {{ OVERRIDDEN = "graph" }}
    ready = {{ exec = ["sh", "-c", "test $(id -u) = {nobody.pw_uid}"], timeout = "5s" }}
    [services.regrouped]
    command = ["sleep", "60"]
    user = "nobody"
    group = "daemon"
    """)
    sup.wait_event("dropped", "ready")  # the exec probe ran as nobody too
    wait_until(lambda: sup.output("dropped"), what="the report")
    assert sup.output("dropped") == [f"HOME={nobody.pw_dir} USER=nobody FROM_FILE=file OVERRIDDEN=graph"]
    status = _status(sup.unit_status("dropped")["pid"])
    assert status["Uid"].split() == [str(nobody.pw_uid)] * 4
    assert status["Gid"].split() == [str(nobody.pw_gid)] * 4
    assert status["Groups"].split() == [str(g) for g in os.getgrouplist("nobody", nobody.pw_gid)]
    assert "0" not in status["Groups"].split()  # none of root's groups came along
    assert status["Umask"] == "0027"
    sup.wait_event("regrouped", "ready")
    status = _status(sup.unit_status("regrouped")["pid"])
    assert status["Gid"].split() == ["1"] * 4 and status["Uid"].split() == [str(nobody.pw_uid)] * 4
    assert sup.stop() == 0


def test_a_user_or_env_file_that_does_not_exist_is_refused_before_anything_starts(supervisor, tmp_path):
    sup = supervisor("""
    version = 1
    [services.a]
    command = ["true"]
    user = "no-such-user-xyz"
    [services.b]
    command = ["true"]
    env_file = ["missing.env"]
    """)
    assert sup.wait() == 78
    stderr = sup.process.stderr.read()
    assert "a's user cannot be used here (user 'no-such-user-xyz' does not exist on this machine)" in stderr
    assert f"b's env_file[0] cannot be used here (env_file {tmp_path}/missing.env: no such file)" in stderr
