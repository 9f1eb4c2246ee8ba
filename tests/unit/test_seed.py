"""The demo seed's decision: its accounts have a public password, so a production run
gets them only when CHATAPP_SEED_DEMO=1 asks for them; a development run gets them
unless CHATAPP_SEED_DEMO=0. (tests/e2e/test_run_command.py runs `scripts/run --env prod`.)"""

from __future__ import annotations

import dataclasses

import pytest

from chatapp import seed
from chatapp.settings import load_settings, settings


@pytest.mark.parametrize(
    ("mode", "choice", "expected"),
    [
        ("dev", None, True),
        ("preview", None, True),
        ("prod", None, False),
        ("PROD", None, False),  # `reflex run --env` takes any case
        ("", None, False),  # unknown modes count as production
        ("production", None, False),
        ("prod", True, True),  # asked for explicitly
        ("dev", False, False),
        ("prod", False, False),
    ],
)
def test_should_seed_only_development_unless_told(mode, choice, expected):
    assert seed.should_seed(mode, choice) is expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(None, None), ("", None), ("1", True), ("0", False), ("true", True), ("OFF", False)],
)
def test_seed_setting_tells_unset_apart_from_off(monkeypatch, raw, expected):
    if raw is None:
        monkeypatch.delenv("CHATAPP_SEED_DEMO", raising=False)
    else:
        monkeypatch.setenv("CHATAPP_SEED_DEMO", raw)
    assert load_settings().seed_demo is expected


def test_seed_setting_refuses_a_value_it_cannot_read(monkeypatch):
    monkeypatch.setenv("CHATAPP_SEED_DEMO", "maybe")
    with pytest.raises(ValueError, match="CHATAPP_SEED_DEMO must be 1 or 0"):
        load_settings()


def test_production_run_without_the_setting_says_why_and_never_opens_the_database(monkeypatch, capsys):
    monkeypatch.setattr(seed, "settings", dataclasses.replace(settings, seed_demo=None))

    def no_database():
        pytest.fail("the seed opened the database in production mode")

    monkeypatch.setattr(seed.rx, "session", no_database)
    seed.main(["--env", "prod"])
    err = capsys.readouterr().err
    assert "no demo accounts in prod mode" in err
    assert "CHATAPP_SEED_DEMO=1" in err
