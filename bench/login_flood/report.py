"""The results page (`docs/login-flood.md`), written like docs/benchmarks.md: the generated
part above a marker line, the hand-written analysis below it kept as it is."""

from __future__ import annotations

import datetime
import math
import re
from collections import Counter

from bench.common import MARKER, app_version, machine, server_errors, write
from bench.common import table as _table
from bench.load.analysis import percentile, summary
from bench.login_flood.run import (
    BYSTANDER_ADDRESS,
    OWNER_ADDRESS,
    TARGET,
    ConditionResult,
    FloodConfig,
    newcomer_address,
)

__all__ = ["MARKER", "login_figures", "logins_goals", "page", "write"]

# The legitimate users, as the page names them.
WHO = {
    "bystander": "C (not attacked, returning)",
    "owner": "owner of the attacked account (returning)",
    "newcomer": "D (first login from a new address each time)",
}
# The returning users: one log-in from their usual address before the flood.
RETURNING = ("bystander", "owner")
# How the targets' counts name them.
SHORT = {"bystander": "C", "owner": "owner", "newcomer": "D"}

GOAL_RATE = 10.0
GOAL_P99_MS = 100.0


def _ms(value: float) -> str:
    return "—" if value is None or math.isnan(value) else f"{value:.1f}"


def goal(results: list[ConditionResult]) -> tuple[str, bool | None]:
    """The issue's figure (p99 under 10 attempts/s from many addresses) and whether it is met."""
    for r in results:
        if r.condition.rate == GOAL_RATE and not r.condition.one_address:
            p99 = percentile(r.probe.delivery_ms, 99)
            return f"p99 {_ms(p99)} ms (p50 {_ms(percentile(r.probe.delivery_ms, 50))} ms)", (
                r.probe.complete and p99 <= GOAL_P99_MS
            )
    return "not measured", None


def _refusal(text: str | None, config: FloodConfig) -> str:
    """A refusal's text, its numbers (waits in seconds) as N so that equal ones group."""
    if text is None:
        return f"no answer within {config.login_timeout:g} s"
    return re.sub(r"\d+(\.\d+)?", "N", text)


def login_figures(r: ConditionResult, config: FloodConfig) -> dict[str, dict]:
    """Per legitimate user ("bystander", "owner", "newcomer"): log-ins attempted and signed
    in, the answer time (ms, every answered log-in) p50 and max, the refusals by text, the
    latest a log-in started after it was due (s: the previous one's answer was awaited), how
    many started after the flood's last attempt was sent, and for the returning users their
    log-in before the flood (`prior`: its answer, ms, and whether it signed in; None if it
    was not made)."""
    # The probe's start and the attacker's end are on one clock (CLOCK_MONOTONIC).
    ended = r.attack.ended if r.attack is not None and r.attack.ended else math.inf
    figures = {}
    for who in WHO:
        attempts = [a for a in r.logins if a.who == who]
        ms = [a.ms for a in attempts if a.ms is not None]
        refusals = Counter(_refusal(a.answer, config) for a in attempts if not a.ok)
        figures[who] = {
            "attempted": len(attempts),
            "succeeded": sum(a.ok for a in attempts),
            "answer_p50_ms": percentile(ms, 50) if ms else None,
            "answer_max_ms": max(ms) if ms else None,
            "refusals": dict(refusals.most_common()),
            "late_max_s": max((a.started_s - a.due_s for a in attempts), default=0.0),
            "after_flood": sum(r.probe.started + a.started_s > ended for a in attempts),
            "addresses": len({a.address for a in attempts}),
        }
        if who in RETURNING:
            prior = next((a for a in r.prior_logins if a.who == who), None)
            figures[who]["prior"] = (
                None if prior is None else {"answer": prior.answer, "ms": prior.ms, "ok": prior.ok}
            )
    return figures


def _prior_failed(r: ConditionResult, config: FloodConfig) -> list[str]:
    """The returning users whose log-in before the flood did not sign in (or was not made)."""
    figures = login_figures(r, config)
    return [who for who in RETURNING if not (figures[who].get("prior") or {}).get("ok")]


def _users_goal(
    results: list[ConditionResult], config: FloodConfig, users: tuple[str, ...]
) -> tuple[str, bool | None]:
    """Whether every log-in of `users` during every flood signed in (for returning users,
    their log-in before the flood too), and the counts."""
    flooded = [r for r in results if r.condition.rate > 0 and r.attack is not None]
    totals = {who: [0, 0] for who in users}
    not_returning = []
    for r in flooded:
        figures = login_figures(r, config)
        for who in users:
            totals[who][0] += figures[who]["succeeded"]
            totals[who][1] += figures[who]["attempted"]
        not_returning += [
            f"{SHORT[who]} in {r.condition.label}" for who in _prior_failed(r, config) if who in users
        ]
    if not any(attempted for _, attempted in totals.values()):
        return "not measured", None
    measured = ", ".join(f"{SHORT[who]} {ok}/{n}" for who, (ok, n) in totals.items())
    floods = f"{len(flooded)} flood{'s' if len(flooded) != 1 else ''}"
    text = f"signed in: {measured} over {floods}"
    if not_returning:
        text += f"; the log-in before the flood failed: {', '.join(not_returning)}"
    return text, all(ok == n for ok, n in totals.values()) and not not_returning


def logins_goals(results: list[ConditionResult], config: FloodConfig) -> dict[str, tuple[str, bool | None]]:
    """The log-in targets, measured over the floods: "returning" (C and the owner, from
    their usual address, known by then) and "newcomer" (D, each time from a new address);
    each the counts and whether every log-in signed in."""
    return {
        "returning": _users_goal(results, config, RETURNING),
        "newcomer": _users_goal(results, config, ("newcomer",)),
    }


def _prior(f: dict, config: FloodConfig) -> str:
    """A returning user's log-in before the flood, as the table shows it."""
    if "prior" not in f:
        return "— (none: a new address)"
    prior = f["prior"]
    if prior is None:
        return "**not made**"
    if prior["ok"]:
        return f"signed in ({_ms(prior['ms'])} ms)"
    return f"**not signed in: “{_refusal(prior['answer'], config)}”**"


def _login_rows(r: ConditionResult, config: FloodConfig) -> list[list[str]]:
    rows = []
    for who, f in login_figures(r, config).items():
        refusals = "; ".join(f"{n} × “{text}”" for text, n in f["refusals"].items()) or "none"
        rows.append(
            [
                r.condition.label,
                WHO[who],
                _prior(f, config),
                _bold_unless(f["succeeded"] == f["attempted"], f"{f['succeeded']}/{f['attempted']}"),
                f"{_ms(f['answer_p50_ms'])} / {_ms(f['answer_max_ms'])}",
                f"{f['late_max_s']:.1f}"
                + (f" ({f['after_flood']} after the flood)" if f["after_flood"] else ""),
                refusals,
            ]
        )
    return rows


def _bold_unless(ok: bool, text: str) -> str:
    return text if ok else f"**{text}**"


def _message_row(r: ConditionResult) -> list[str]:
    d, e = summary(r.probe.delivery_ms), summary(r.probe.echo_ms)
    return [
        r.condition.label,
        f"{len(r.probe.delivery_ms)}/{r.probe.sent}",
        _ms(d["p50"]),
        _ms(d["p95"]),
        _ms(d["p99"]),
        _ms(d["max"]),
        _ms(e["p50"]),
        _ms(e["p99"]),
    ]


def _flood_row(r: ConditionResult) -> list[str]:
    a = r.attack
    if a is None:
        return [r.condition.label, *(["—"] * 9)]
    seconds = max(1e-9, a.ended - a.started)
    others = ", ".join(f"{n} × “{text}”" for text, n in a.other.items()) or "0"
    return [
        r.condition.label,
        f"{a.sent:,} ({a.sent_target:,})",
        f"{a.answered:,}",
        f"{a.checked:,} ({a.checked_target:,})",
        f"{a.refused:,} ({a.refused_target:,})",
        f"{a.busy:,} ({a.busy_target:,})",
        others,
        f"{a.unanswered:,}",
        f"{a.checked / seconds:.1f}",
        f"{_ms(percentile(a.checked_ms, 50))} / {_ms(percentile(a.checked_ms, 99))}",
    ]


def _resource_row(r: ConditionResult) -> list[str]:
    return [
        r.condition.label,
        f"{r.server_cpu_pct:.0f}",
        f"{r.attacker_cpu_pct:.0f}" if r.attack is not None else "—",
        f"{r.probe_cpu_pct:.0f}",
        f"{r.machine_busy_pct:.0f}",
        f"{r.load_average[0]:.2f} / {r.load_average[1]:.2f}",
    ]


def _correct_row(r: ConditionResult) -> list[str]:
    return [
        r.condition.label,
        "yes" if r.probe.complete else "**no**",
        str(len(r.probe.missing)),
        "; ".join(sorted(set(r.probe.errors))[:3]) or "none",
        str(len(r.server_errors)),
        _attacker_state(r),
    ]


def _attacker_state(r: ConditionResult) -> str:
    if r.attack_error:
        return r.attack_error
    if r.attack is None:
        return "—"
    problems = []
    if r.attack.connect_failures:
        problems.append(f"{len(r.attack.connect_failures)} connections failed to open")
    if r.attack.send_failures:
        problems.append(f"{r.attack.send_failures} attempts could not be sent (connection closed)")
    return "; ".join(problems) or "ran as planned"


def _deployment(config: FloodConfig) -> list[str]:
    """How the app ran (the lines that follow "The app runs in production mode")."""
    if config.instances <= 0:
        return ["(`reflex run --env prod`, one Granian worker, a fresh SQLite database per condition);"]
    return [
        f"(`reflex run --env prod`): {config.instances} instances, one Granian worker each, on one Redis",
        "and one PostgreSQL database, both fresh per condition (rate limits, log-in throttles and",
        "known addresses are kept in Redis, shared by the instances); the attacker's connections and",
        "the log-ins go to the instances in turn (the k-th to instance k modulo their number), A's",
        "tab to the first instance and B's to the last;",
    ]


def page(
    results: list[ConditionResult],
    config: FloodConfig,
    command: str,
    started: datetime.datetime,
    app_label: str | None = None,
) -> str:
    """The generated part of the page."""
    measured, met = goal(results)
    goals = logins_goals(results, config)
    last_new = newcomer_address(max(1, config.owner_logins) - 1)
    rank = (config.messages - 1) * 0.99
    return "\n".join(
        [
            "# Login flood benchmark",
            "",
            "Does checking passwords slow down everyone else? Two signed-in users, A and B, chat at a",
            "steady pace in their direct conversation while an attacker sends log-in attempts with wrong",
            "passwords through the real log-in form handler (`AuthFormState.log_in`, which runs bcrypt in",
            "a worker thread), from raw socket.io connections of its own. The app runs in production mode",
            *_deployment(config),
            "A's and B's tabs and the attacker are raw clients (`bench/reflex_client.py`,",
            "`bench/login_flood/attacker.py`), the attacker in a process of its own.",
            "",
            f"- **Date:** {started:%Y-%m-%d %H:%M} UTC",
            f"- **Machine:** {machine()}.",
            "  Server and clients on the same machine, shared with other work (see the machine's busy",
            "  CPU and load average below).",
            f"- **Command:** `{command}`",
            f"- **App under test:** {app_label or app_version(None)} (when the run started)",
            f"- **Messages:** {config.messages} per condition at {config.message_rate:g}/s, A and B in turn",
            f"  (after {config.warmup_messages} unmeasured ones); under a flood they start after",
            f"  {config.settle:g} s of it, and the flood lasts until after the last one.",
            "- **Flood:** wrong passwords at a steady rate (open loop: sent on schedule whatever the",
            f"  server answers); {config.target_share:.0%} of the attempts aim at one existing account,",
            "  every other one tries a username of its own that does not exist (the app checks those",
            "  against a dummy hash of the same cost). *Many addresses*: each connection has a loopback",
            f"  source address of its own (127.1.0.1, ...) and sends {config.per_address} attempts, then a",
            "  fresh one takes over, as the machines of a botnet would; *one address*: every attempt",
            "  from 127.0.0.1.",
            f"- **Log-ins:** {config.owner_logins} per condition by C, a user who is not attacked,",
            f"  {config.owner_logins} by the attacked account's owner and {config.owner_logins} by D,",
            "  another user who is not attacked, with their right passwords, spread evenly over the",
            "  measured messages, each from a fresh tab. C and the owner are *returning users*: each",
            "  also logs in once before the flood starts (unmeasured), from the same address as during",
            f"  it (C {BYSTANDER_ADDRESS}, the owner {OWNER_ADDRESS}), so that address is known for their",
            "  username, as home or the office is. D is a *newcomer*: each log-in comes from an address",
            f"  never used before ({newcomer_address(0)}, ... {last_new}), a first log-in from a new device",
            "  or network. The attacker never uses any of these addresses.",
            "",
            "## Target",
            "",
            _table(
                ["Target", "Goal", "Measured", "Met"],
                [
                    [
                        f"Message delivery under a flood of {GOAL_RATE:g} log-in attempts/s",
                        f"p99 ≤ {GOAL_P99_MS:g} ms",
                        measured,
                        "—" if met is None else ("yes" if met else "**no**"),
                    ],
                    *(
                        [
                            name,
                            "all attempts succeed",
                            goals[key][0],
                            "—" if goals[key][1] is None else ("met" if goals[key][1] else "**not met**"),
                        ]
                        for key, name in (
                            ("returning", "A returning user (known address) logs in during the flood"),
                            ("newcomer", "A first login from a new address during the flood"),
                        )
                    ),
                ],
            ),
            "",
            "## Messages: send → arrival at the other member's tab",
            "",
            "Milliseconds. Delivery: from just before the sender's client emits `ChatState.send_message`",
            "to the arrival, at the other member's client, of the state update that carries the message",
            "(both clients in one process, on one clock: CLOCK_MONOTONIC). Echo: the same to the sender's",
            "own tab (the answer to its event). Percentiles by linear interpolation between the two",
            "nearest ranks (`bench.load.analysis.percentile`, as in docs/benchmarks.md; NumPy's default,",
            f"Hyndman and Fan's type 7): with {config.messages} messages, p99 lies at rank {rank:.2f} of",
            f"0..{config.messages - 1} in sorted order.",
            "",
            _table(
                ["Condition", "Arrived", "p50", "p95", "p99", "max", "Echo p50", "Echo p99"],
                [_message_row(r) for r in results],
            ),
            "",
            "## What the flood exercised",
            "",
            "Each answer is the form's error text: “Wrong username or password.” means bcrypt checked",
            "the password; “Too many failed attempts …” means the login throttle refused the attempt,",
            "and “Many people are logging in right now …” that the queue of password checks was full",
            "(busy): both before any hashing. In brackets: the attempts at the existing account.",
            "Checked/s: checked attempts per second of flood (the hashing the server did). Answer time:",
            "send → the form's answer, for the checked attempts, in milliseconds (what a person logging",
            f"in during the flood waits). Unanswered: no answer within {config.drain:g} s of the last",
            "attempt (a backlog the server had not reached).",
            "",
            _table(
                [
                    "Condition",
                    "Sent",
                    "Answered",
                    "Checked (bcrypt)",
                    "Refused (throttle)",
                    "Refused (busy)",
                    "Other answers",
                    "Unanswered",
                    "Checked/s",
                    "Answer p50 / p99",
                ],
                [_flood_row(r) for r in results],
            ),
            "",
            "## Legitimate log-ins during the flood",
            "",
            "While the measured messages run (and the flood with them), C, the owner of the attacked",
            f"account (`{TARGET}`) and D each log in {config.owner_logins} times with the right",
            "password, at evenly spaced times, their turns interleaved; each log-in opens a fresh tab (a raw",
            "socket.io connection, the attacker's own code: `attacker.log_in_once`) and submits the form",
            "(`AuthFormState.log_in`). A person does not submit twice at once: a log-in due while the",
            "same person's previous one still waits for its answer starts after that answer (started",
            f"late; a log-in gives up after {config.login_timeout:g} s), and may then start after the",
            "flood's last attempt (said in brackets). Signed in: the",
            "answer carried a login token (or the redirect to the chat). Answer time: send → the form's",
            "answer, in milliseconds, p50 / max over every answered log-in, refusals included.",
            "Refusals: the form's error texts, their numbers shown as N, with how many times each came.",
            "Every condition starts a fresh app, so no address is known at its start. C and the owner",
            "are returning users: each logs in once from their usual address after the warm-up",
            "messages and before the attacker starts (Before the flood: its answer and answer time;",
            "not counted in Signed in), then logs in from that same address all through the flood.",
            "Once a log-in has succeeded, its (username, address) is known: the login throttle's caps",
            "per address and per username no longer hold it back, and its password check goes ahead",
            "of the others in the queue (`chatapp/services/login_throttle.py`). If that log-in failed,",
            "the column says so in bold and the returning users' target is not met: they were no",
            "returning users. D is a newcomer: every log-in comes from an address never used before,",
            "a first log-in from a new device or network, which the caps apply to and whose password",
            "check waits in the queue with the flood's.",
            "",
            _table(
                [
                    "Condition",
                    "User",
                    "Before the flood",
                    "Signed in",
                    "Answer p50 / max",
                    "Started late (max s)",
                    "Refusals",
                ],
                [row for r in results for row in _login_rows(r, config)],
            ),
            "",
            "## Resources",
            "",
            "CPU during the measured messages (first to last send), % of one core, read with psutil:",
            "the app's processes; the attacker's process; the probe's process (A's and B's tabs, and",
            "the legitimate log-ins' tabs);",
            "the whole machine's busy share of all its cores, whoever used it.",
            "",
            _table(
                [
                    "Condition",
                    "Server CPU",
                    "Attacker CPU",
                    "Probe CPU",
                    "Machine busy",
                    "Load avg before / after",
                ],
                [_resource_row(r) for r in results],
            ),
            "",
            "## Correctness",
            "",
            "Checked in every condition: every message reached the other member's tab and the",
            "sender's own; no tab was shown an error; the app logged no error; the attacker ran.",
            "",
            _table(
                ["Condition", "Complete", "Missing", "Errors shown", "Server errors", "Attacker"],
                [_correct_row(r) for r in results],
            ),
            "",
            *server_errors(results, "Errors the app logged (a traceback by its exception's line):"),
        ]
    )
