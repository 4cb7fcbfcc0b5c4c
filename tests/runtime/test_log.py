"""The supervisor's JSON log lines carry what log pipelines expect: an ISO 8601 time and a level."""

import datetime
import io
import json
import time

from supervisor.runtime.log import Log


def test_json_lines_have_an_iso_time_an_epoch_and_a_level():
    stream = io.StringIO()
    log = Log("json", stream)
    before = time.time()
    log.event("web@2", "failed", "exit 3")
    log.event("web@2", "restart", "after exit 3")
    log.event("supervisor", "started", "graph g")
    log.output("web@2", "stderr", "listening")
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [r["level"] for r in records] == ["error", "warning", "info", "info"]
    first = records[0]
    moment = datetime.datetime.fromisoformat(first["time"])
    assert moment.utcoffset() == datetime.timedelta(0)
    assert abs(moment.timestamp() - first["epoch"]) < 1e-5 and before <= first["epoch"] <= time.time()
    assert {k: first[k] for k in ("unit", "event", "message", "service", "replica")} == {
        "unit": "web@2",
        "event": "failed",
        "message": "exit 3",
        "service": "web",
        "replica": 2,
    }
