"""What the benchmarks count as a server's error (`bench.load.server_stats.logged_errors`), and its peak
memory (`peak_rss_of`)."""

from __future__ import annotations

import os

import psutil

from bench.load.server_stats import logged_errors, peak_rss_of, refused_sockets


def test_a_traceback_reflex_indents_is_an_error_with_the_exception_that_ends_it(tmp_path):
    """Reflex prints a backend exception as "[Reflex Backend Exception]" and then the
    traceback indented by a space (the password gate's ValueError on two instances)."""
    log = tmp_path / "app.log"
    log.write_text(
        "App running at: http://127.0.0.1:1/\n"
        "[Reflex Backend Exception]\n"
        " Traceback (most recent call last):\n"
        '  File "x.py", line 1, in acquire\n'
        "    await turn\n"
        "ValueError: <Future cancelled> is not in deque\n"
        "Info: Reflex app stopped.\n"
    )
    (found,) = logged_errors(log)
    assert found.endswith("ValueError: <Future cancelled> is not in deque")


def test_the_token_managers_failures_logged_without_a_level_are_errors(tmp_path):
    log = tmp_path / "app.log"
    log.write_text(
        "App running at: http://127.0.0.1:1/\n"
        "Redis error checking token existence: No connection available.\n"
        "Redis error deleting token: No connection available.\n"
        "a user wrote: Redis error is what I saw\n"
        "Token cleanup error: boom\n"
    )
    assert logged_errors(log) == [
        "Redis error checking token existence: No connection available.",
        "Redis error deleting token: No connection available.",
        "Token cleanup error: boom",
    ]


def test_a_log_without_errors_has_none(tmp_path):
    log = tmp_path / "app.log"
    log.write_text("App running at: http://127.0.0.1:1/\nWarning: something slow\n")
    assert logged_errors(log) == [] and logged_errors(None) == []


def test_a_processs_peak_memory_stays_above_what_it_holds_after_freeing_some():
    """`peak_rss_of`: what a storm reached, after the storm (Linux's VmHWM)."""
    size = 256 * 2**20
    block = bytearray(size)
    block[::4096] = b"x" * len(block[::4096])  # every page touched: resident
    held = psutil.Process().memory_info().rss
    del block
    after = peak_rss_of(os.getpid())
    now = psutil.Process().memory_info().rss
    assert held - now > size // 2  # the block was given back ...
    assert after > now + size // 2  # ... and the peak still counts it


def test_the_sockets_a_busy_server_refused_are_counted_from_its_log(tmp_path):
    log = tmp_path / "app.log"
    log.write_text(
        "event loop 1.4 s behind: refusing new sockets until it catches up\n"
        "event loop caught up: refused 120 new sockets in 3.2 s (at most 2.1 s behind so far)\n"
        "some other line\n"
        "event loop 1.1 s behind: refusing new sockets until it catches up\n"
        "event loop caught up: refused 7 new sockets in 0.4 s (at most 2.1 s behind so far)\n"
    )
    assert refused_sockets(log) == 127
    assert refused_sockets(tmp_path / "missing.log") == 0
