"""Durations as graph files write them, and as messages print them."""

import pytest

from supervisor.graph.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("250ms", 0.25), ("10s", 10), ("2m", 120), ("1h", 3600), ("1m30s", 90), ("1.5s", 1.5)],
)
def test_parse(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["10", "10 s", "s", "-1s", "1d", "", " 10s", "10s ", "10s\n"])
def test_bad_durations_say_what_to_write(text):
    with pytest.raises(ValueError, match='such as "250ms"'):
        parse_duration(text)


@pytest.mark.parametrize(
    ("seconds", "text"), [(0.999998, "1s"), (0.25, "250ms"), (90, "90s"), (120, "2m"), (7200, "2h")]
)
def test_format_rounds_to_the_millisecond(seconds, text):
    assert format_duration(seconds) == text
    assert parse_duration(text) == pytest.approx(seconds, abs=0.001)
