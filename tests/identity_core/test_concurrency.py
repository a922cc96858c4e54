"""ordered_map: results in order from several threads; cancel and early exit stop unstarted work."""

import threading
import time

import pytest

from identity_core.concurrency import Cancelled, ordered_map


def test_results_come_in_order_from_two_threads():
    threads = set()

    def slow_square(value):
        threads.add(threading.get_ident())
        time.sleep(0.02 * (5 - value % 5))  # later items finish first
        return value * value

    assert list(ordered_map(slow_square, range(10), workers=2)) == [v * v for v in range(10)]
    assert len(threads) == 2


def test_cancel_stops_before_the_next_item_starts():
    started = []
    asked = []

    def cancel_after_three():
        asked.append(True)
        return len(asked) > 3

    with pytest.raises(Cancelled, match="The check was cancelled"):
        list(ordered_map(started.append, range(10), 1, cancel_after_three, "The check"))
    assert started == [0, 1, 2]


def test_leaving_the_loop_early_stops_unstarted_items():
    started = []

    def record(value):
        started.append(value)
        time.sleep(0.01)
        return value

    for value in ordered_map(record, range(50), workers=2):
        if value == 2:
            break
    time.sleep(0.1)
    assert len(started) < 10
