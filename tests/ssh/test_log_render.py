"""``services.shared.log``: real twisted.logger events, rendered as one safe line whatever the peer sent."""

import os

from twisted.logger import Logger, LogPublisher, formatEvent
from twisted.python import log as legacy_log
from twisted.python.failure import Failure

from services.shared import log
from services.ssh_proxy import hostkeys


class _Source:
    """What a Conch object looks like to a format string: attributes to read, methods to call."""

    def __init__(self) -> None:
        self.secret = "SECRET-ATTRIBUTE"
        self.stopped = False

    def stop(self) -> str:
        self.stopped = True
        return "STOPPED"


def _events(emit) -> list[dict]:
    """The events ``emit(logger)`` makes, from a Logger whose source is a ``_Source``."""
    events: list[dict] = []
    emit(Logger(observer=events.append, source=_Source()))
    return events


def test_peer_text_in_the_format_string_is_shown_not_resolved():
    peer = "{log_source.secret} {log_source.stop()} {log_source} {0} {} {missing!r:>99}"
    (event,) = _events(lambda logger: logger.error(peer))
    line = log.render(event)
    assert line == "{log_source.secret} {log_source.stop()} <_Source> {0} {} {missing!r:>99}"
    assert not event["log_source"].stopped


def test_twisted_formatEvent_resolves_and_calls_what_render_leaves_alone():
    """Why this module exists: the same peer text through Twisted's own formatter."""
    (event,) = _events(lambda logger: logger.error("{log_source.secret} {log_source.stop()}"))
    assert log.render(event) == "{log_source.secret} {log_source.stop()}"
    assert not event["log_source"].stopped
    assert formatEvent(event) == "SECRET-ATTRIBUTE STOPPED" and event["log_source"].stopped


def test_fields_are_shown_and_their_values_cannot_format_further():
    fields = {"user": b"{log_source.secret}\xff", "kind": "{log_format}", "count": 3}
    (event,) = _events(lambda logger: logger.warn("user {user!r} tried {kind} ({count})", **fields))
    assert log.render(event) == r"user b'{log_source.secret}\xff' tried {log_format} (3)"


def test_newlines_and_control_characters_never_leave_the_line():
    peer = "x\nFORGED-LINE: root\r\x1b[2J\x00\u2028\u202e\udcff\x85"
    (event,) = _events(lambda logger: logger.error(peer + " {field}", field=peer))
    line = log.render(event)
    escaped = r"x\nFORGED-LINE: root\r\x1b[2J\x00\u2028\u202e\udcff\x85"
    assert line == f"{escaped} {escaped}"
    assert line.isprintable() and line.encode("utf-8")


def test_an_event_is_bounded_however_large_its_fields_or_format():
    huge = "A" * 1_000_000
    (field, expanding, spec) = _events(
        lambda logger: (
            logger.error("{field}", field=huge),
            logger.error("{log_format}" * 100_000),
            logger.error("{n:>999999999}", n=1),
        )
    )
    assert log.render(field) == "A" * log.MAX_FIELD + f"...[{1_000_000 - log.MAX_FIELD} more]"
    assert len(log.render(expanding)) < 2 * log.MAX_LINE
    assert log.render(spec) == "1"  # the width is ignored, not applied


def test_an_unbalanced_format_string_is_shown_as_it_is():
    (event,) = _events(lambda logger: logger.error("bad { format"))
    assert log.render(event) == "bad { format"


def test_objects_are_shown_by_type_only_never_by_repr(tmp_path):
    host_keys = hostkeys.load_or_create(str(tmp_path))
    fields = {"keys": host_keys, "key": host_keys[b"ssh-ed25519"], "nothing": None}
    (event,) = _events(lambda logger: logger.error("{keys} {key} {nothing}", **fields))
    assert log.render(event) == "<dict> <Key> None"  # a Key's repr is the private key


def test_a_failure_is_one_line_with_its_type_message_and_place():
    try:
        raise ValueError("bad\nvalue")
    except ValueError:
        failure = Failure()
    (event,) = _events(lambda logger: logger.failure("while {doing}", failure, doing="testing"))
    line = log.render(event)
    assert line.startswith(r"while testing: ValueError: bad\nvalue (at test_log_render.py:")
    assert line.endswith(" in test_a_failure_is_one_line_with_its_type_message_and_place)")


def test_a_legacy_error_event_is_one_line_not_a_traceback():
    events: list[dict] = []
    publisher = legacy_log.LogPublisher(publishPublisher=LogPublisher(events.append))
    try:
        b"\xff".decode("ascii")
    except UnicodeDecodeError:
        publisher.msg(failure=Failure(), isError=1, why=None)
    (event,) = events
    assert "Traceback" in event["log_text"]  # what the event carries, and is not shown
    line = log.render(event)
    assert line.startswith("Unhandled Error: UnicodeDecodeError: 'ascii' codec can't decode byte 0xff")
    assert "Traceback" not in line


def test_the_observer_writes_one_prefixed_line_per_event_with_text(capsys):
    (event, empty) = _events(lambda logger: (logger.error("a\nb {x}", x="c\nd"), logger.error(None)))
    log.observer("svc")(event)
    log.observer("svc")(empty)
    assert capsys.readouterr().err == f"svc[{os.getpid()}]: a\\nb c\\nd\n"
