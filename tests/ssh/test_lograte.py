"""LogRate: what both services' refusal log lines go through (the proxy's MaxStartups drops, the
web terminal's admission), on Twisted's own deterministic clock."""

from twisted.internet.task import Clock

from services.shared.lograte import INTERVAL, LogRate


def test_the_first_is_logged_at_once_then_at_most_one_line_per_interval_counting_the_rest():
    clock = Clock()
    rate = LogRate(clock.seconds)
    assert rate.happened() == 1
    said = []
    for _ in range(30):  # a flood: 30 over 2.5 intervals, one every INTERVAL / 12
        clock.advance(INTERVAL / 12)
        said.append(rate.happened())
    assert [count for count in said if count] == [12, 12]  # at INTERVAL and 2 * INTERVAL
    clock.advance(INTERVAL)
    assert rate.happened() == 7  # the 6 left since the last line, and this one


def test_a_restart_logs_the_next_at_once():
    clock = Clock()
    rate = LogRate(clock.seconds)
    assert rate.happened() == 1
    clock.advance(1)
    assert rate.happened() == 0
    rate.restart()
    assert rate.happened() == 1  # a new run: its first is logged however recent the last line
