"""What the benchmarks count as a server's error (`bench.load.server_stats.logged_errors`)."""

from __future__ import annotations

from bench.load.server_stats import logged_errors


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
