"""Smoke test of the login flood benchmark: a quick run completes, and is complete and correct.

It runs `python -m bench.login_flood` with a few messages and a small flood, which starts
the app in production mode twice (no flood, then the flood; each on its own database),
sends the messages between two raw clients while the attacker process sends wrong
passwords and C and the attacked account's owner (returning users: each logged in once
before the flood) and D (from a new address each time) log in with the right ones, and writes its
page and JSON into a temporary directory. No timing is asserted: speed is what the
benchmark reports (docs/login-flood.md), never what a test checks.
"""

from __future__ import annotations

import json

import pytest

from bench.login_flood import attacker, run
from chatapp import wire
from chatapp.wire import SESSION_STATE
from tests.support import run_benchmark

MESSAGES = 8
LOGINS = 2  # by C, by the owner and by D each, per condition
RETURNING = ("bystander", "owner")
BUSY_OR_THROTTLED = (attacker.BUSY, attacker.REFUSED, "Another attempt to log in")
QUICK = [
    *("--messages", str(MESSAGES), "--message-rate", "4", "--warmup-messages", "2"),
    *("--floods", "4", "--one-address-floods", "", "--settle", "0.5", "--drain", "10"),
    *("--target-share", "0.5", "--max-load", "0", "--owner-logins", str(LOGINS), "--login-timeout", "30"),
]


@pytest.mark.integration
def test_a_quick_run_with_and_without_a_flood_is_complete_and_correct(tmp_path):
    page, raw = tmp_path / "login-flood.md", tmp_path / "results.json"
    run_benchmark(["-m", "bench.login_flood", *QUICK, "--out", str(page), "--json", str(raw)], timeout=170)
    figures = json.loads(raw.read_text())
    results = {r["label"]: r for r in figures["results"]}
    assert list(results) == ["no flood", "4/s, many addresses"]

    for label, r in results.items():
        probe = r["probe"]
        # Every message reached the other member's tab and its sender's, with no error shown.
        assert probe["sent"] == MESSAGES, label
        assert probe["missing"] == [] and probe["errors"] == [], label
        assert len(probe["delivery_ms"]) == len(probe["echo_ms"]) == MESSAGES, label
        assert r["server_errors"] == [] and r["correct"] is True, label
        # Before the flood (or its absence), C and the owner each logged in once from their
        # usual address, and it worked: they are returning users from then on.
        prior = r["prior_logins"]
        assert [(a["who"], a["address"]) for a in prior] == [
            ("bystander", run.BYSTANDER_ADDRESS),
            ("owner", run.OWNER_ADDRESS),
        ], label
        assert all(a["answer"] == attacker.SIGNED_IN for a in prior), (label, prior)
        # C, the owner and D each logged in LOGINS times: C and the owner from their usual
        # addresses, D from a new one each time; every log-in was answered (an answer time
        # for each).
        logins = r["logins"]
        assert sorted(a["who"] for a in logins) == (
            ["bystander"] * LOGINS + ["newcomer"] * LOGINS + ["owner"] * LOGINS
        ), label
        returning = {a["address"] for a in logins if a["who"] in RETURNING}
        assert returning == {run.OWNER_ADDRESS, run.BYSTANDER_ADDRESS}, label
        fresh = [a["address"] for a in logins if a["who"] == "newcomer"]
        assert sorted(fresh) == [run.newcomer_address(k) for k in range(LOGINS)], label
        assert all(a["answer"] is not None and a["ms"] is not None for a in logins), label
        for who in (*RETURNING, "newcomer"):
            f = r["login_figures"][who]
            assert f["attempted"] == LOGINS, (label, who)
            assert f["answer_p50_ms"] is not None and f["answer_max_ms"] is not None, (label, who)
        for who in RETURNING:
            assert r["login_figures"][who]["prior"]["ok"] is True, (label, who)
    assert results["no flood"]["attack"] is None

    flood = results["4/s, many addresses"]["attack"]
    assert flood["sent"] > 0 and flood["sent_target"] > 0 and flood["connect_failures"] == []
    # Each attempt was answered by the real handler, with one of its answers: the password
    # was checked, or the throttle or the full queue of checks refused it.
    assert flood["unanswered"] == 0 and flood["other"] == {}
    assert flood["checked"] + flood["refused"] + flood["busy"] == flood["sent"]
    assert flood["checked"] > 0
    # During the flood, the returning C and the attacked account's owner both logged in
    # every time.
    during = results["4/s, many addresses"]
    for who in RETURNING:
        f = during["login_figures"][who]
        assert (f["succeeded"], f["refusals"]) == (LOGINS, {}), (who, during["logins"])
    assert figures["logins_goals"]["returning"]["met"] is True
    # The newcomer's first log-ins compete with the flood: no success is asserted, only that
    # each got an answer, signed in or refused as busy or throttled.
    for a in during["logins"]:
        if a["who"] == "newcomer":
            assert a["answer"] == attacker.SIGNED_IN or a["answer"].startswith(BUSY_OR_THROTTLED), a
    assert figures["logins_goals"]["newcomer"]["met"] in (True, False)
    text = page.read_text()
    assert "# Login flood benchmark" in text and "## Target" in text
    assert "## Legitimate log-ins during the flood" in text
    assert (
        "| A returning user (known address) logs in during the flood | all attempts succeed | signed in: C "
        in text
    )
    assert (
        "| A first login from a new address during the flood | all attempts succeed | signed in: D " in text
    )
    newcomer = during["login_figures"]["newcomer"]
    row = "| 4/s, many addresses | D (first login from a new address each time) | — (none: a new address) | "
    assert row in text
    succeeded = f"{newcomer['succeeded']}/{LOGINS}"
    assert row + (succeeded if newcomer["succeeded"] == LOGINS else f"**{succeeded}**") + " |" in text


def test_answers_are_read_from_the_log_in_forms_error_text():
    name = wire.AUTH_FORM_STATE
    assert attacker.form_error({"delta": {name: {"form_error_rx_state_": attacker.WRONG}}}) == attacker.WRONG
    assert attacker.form_error({"delta": {"reflex___state____state": {"x": 1}}}) is None
    result = attacker.AttackResult()
    result.record(True, attacker.WRONG, 1.0)
    result.record(False, "Too many failed attempts. Try again in 4 s.", 1.0)
    result.record(False, "Many people are logging in right now. Try again in a few seconds.", 1.0)
    result.record(False, "Something else.", 1.0)
    assert (result.checked, result.checked_target, result.refused, result.busy) == (1, 1, 1, 1)
    assert result.other == {"Something else.": 1} and result.answered == 4
    # A successful log-in: the update hands the tab a login token and redirects it.
    signed_in = {
        "delta": {SESSION_STATE: {"auth_token_rx_state_": "t0k3n"}, name: {"form_error_rx_state_": ""}},
        "events": [{"name": "_redirect", "payload": {"path": "/"}}],
    }
    assert attacker.answer(signed_in) == attacker.SIGNED_IN
    assert attacker.answer({"delta": {name: {"form_error_rx_state_": attacker.WRONG}}}) == attacker.WRONG
    assert attacker.answer({"delta": {}}) is None
    # Source addresses: distinct, in loopback, never the probes' 127.0.0.1.
    addresses = {attacker.address(n) for n in range(100_000)}
    assert len(addresses) == 100_000
    assert all(a.startswith("127.") and a != "127.0.0.1" for a in addresses)
    # ... nor the legitimate users' addresses: the returning users' and the newcomer's, which
    # are distinct from each other too.
    fresh = [run.newcomer_address(k) for k in range(1000)]
    assert len(set(fresh)) == len(fresh) and all(a.startswith("127.0.") for a in fresh)
    assert not addresses & {run.OWNER_ADDRESS, run.BYSTANDER_ADDRESS, *fresh}
    assert not set(fresh) & {"127.0.0.1", run.OWNER_ADDRESS, run.BYSTANDER_ADDRESS}


@pytest.mark.integration
@pytest.mark.services
def test_a_quick_flood_on_two_instances_is_complete_and_lets_the_returning_users_in(tmp_path):
    """`--instances 2`: two production instances on one Redis (limits, throttles and known
    addresses shared there) and one PostgreSQL database; the attacker's connections and the
    log-ins alternate between the instances, A's tab is on the first and B's on the second."""
    raw = tmp_path / "results.json"
    out = ["--out", str(tmp_path / "page.md"), "--json", str(raw)]
    run_benchmark(["-m", "bench.login_flood", *QUICK, "--no-baseline", "--instances", "2", *out], timeout=240)
    figures = json.loads(raw.read_text())
    assert figures["config"]["instances"] == 2
    (r,) = figures["results"]
    assert r["label"] == "4/s, many addresses"
    # Every message crossed from one instance to the other, both ways, with no error logged.
    probe = r["probe"]
    assert probe["sent"] == MESSAGES and probe["missing"] == [] and probe["errors"] == []
    assert r["server_errors"] == [] and r["correct"] is True
    # The returning users, known on whichever instance they logged in before, got in every time.
    assert all(a["answer"] == attacker.SIGNED_IN for a in r["prior_logins"]), r["prior_logins"]
    for who in RETURNING:
        f = r["login_figures"][who]
        assert (f["succeeded"], f["refusals"]) == (LOGINS, {}), (who, r["logins"])
    flood = r["attack"]
    assert flood["sent"] > 0 and flood["connect_failures"] == [] and flood["unanswered"] == 0
    assert flood["checked"] + flood["refused"] + flood["busy"] == flood["sent"] and flood["other"] == {}
    text = (tmp_path / "page.md").read_text()
    assert "2 instances, one Granian worker each, on one Redis" in text
