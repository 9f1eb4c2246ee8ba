"""One condition of the benchmark: a fresh app, the probe's messages, and the flood (if any).

Each condition gets an app of its own (production mode, fresh SQLite database; with
`--instances N`, N instances on a Redis and a PostgreSQL database of their own), so that no
condition inherits another's throttle counts or a backlog of unanswered attempts.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

import psutil

from bench.app_server import ROOT, AppServer
from bench.load.cluster import AppCluster
from bench.load.profiling import profiled
from bench.load.server_stats import ServerSampler, logged_errors
from bench.login_flood import attacker
from bench.login_flood.attacker import AttackPlan, AttackResult
from bench.login_flood.probe import LoginAttempt, Logins, LoginUser, Probe, ProbeResult

TARGET = "target_account"
# C: a user who is not under attack and logs in during the flood.
BYSTANDER = "probe_c"
# D: a user who is not under attack and logs in during the flood from a new address each time.
NEWCOMER = "probe_d"
# Where the legitimate log-ins come from: loopback addresses the attacker never uses (it
# uses 127.0.0.1 alone, or 127.1.0.1 and up). The returning users (C and the owner): one
# each, the same in every condition. The newcomer: 127.0.3.1, 127.0.3.2, ... one per log-in.
OWNER_ADDRESS = "127.0.2.1"
BYSTANDER_ADDRESS = "127.0.2.2"


def newcomer_address(k: int) -> str:
    """The newcomer's k-th (from 0) source address: 127.0.3.1 and up, all distinct, never
    the attacker's (127.0.0.1, 127.1.0.0/16 and up) nor the returning users' (127.0.2.x)."""
    if not 0 <= k < 253 * 254:
        msg = f"no newcomer address number {k}"
        raise ValueError(msg)
    return f"127.0.{3 + k // 254}.{k % 254 + 1}"


@dataclass(frozen=True)
class Condition:
    """A flood, or none.

    Attributes:
        rate: Log-in attempts per second (0: no flood, the baseline).
        one_address: All attempts from one address (127.0.0.1) rather than many.
    """

    rate: float
    one_address: bool = False

    @property
    def label(self) -> str:
        """How the page names it."""
        if self.rate <= 0:
            return "no flood"
        return f"{self.rate:g}/s, {'one address' if self.one_address else 'many addresses'}"


@dataclass(frozen=True)
class FloodConfig:
    """The workload of every condition.

    Attributes:
        messages: Messages the probe sends per condition (measured).
        message_rate: Messages per second (A and B in turn).
        warmup_messages: Messages sent before each condition, not measured.
        settle: Seconds of flood before the measured messages start.
        per_address: Attempts per attacking address (many-address floods).
        target_share: The share of attempts aimed at the existing account.
        drain: Seconds the attacker waits for answers after its last attempt.
        timeout: Seconds the probe waits for its last messages.
        owner_logins: Log-ins with the right password during the measured messages, by C,
            by the attacked account's owner and by the newcomer D each, spread evenly over
            them (C and the owner also log in once before the flood).
        login_timeout: Seconds each of those log-ins waits for its answer.
        app_env: Extra environment of the app.
        instances: 0: one instance on SQLite, without Redis; N: N instances on one Redis
            and one PostgreSQL database (`bench.load.cluster`), the attacker's connections,
            the log-ins and A's and B's tabs spread over them (B on the last).
    """

    messages: int = 300
    message_rate: float = 2.0
    warmup_messages: int = 6
    settle: float = 3.0
    per_address: int = 10
    target_share: float = 0.1
    drain: float = 5.0
    timeout: float = 10.0
    owner_logins: int = 10
    login_timeout: float = 60.0
    app_env: dict[str, str] = field(default_factory=dict)
    instances: int = 0

    @property
    def span(self) -> float:
        """Seconds the measured messages take to send."""
        return self.messages / self.message_rate


@dataclass
class ConditionResult:
    """Everything measured in one condition.

    Attributes:
        condition: The flood.
        probe: The messages' figures.
        attack: The attacker's figures (None without a flood).
        attack_error: Why the attacker failed, if it did.
        prior_logins: C's and the owner's log-in before the flood (unmeasured: it makes
            them returning users, their address known), in that order.
        logins: The legitimate log-ins during the measured messages (C's, the owner's and
            the newcomer's), in send order.
        window_s: Seconds from the first measured message to the last.
        server_cpu_pct: CPU of the app's processes during that window, % of one core.
        attacker_cpu_pct: The attacker process's CPU in the window, % of one core.
        probe_cpu_pct: The probe's (this process's) CPU in the window, % of one core.
        machine_busy_pct: The whole machine's busy CPU in the window, % of all cores
            (the other developers' processes included).
        load_average: The 1-minute load average before and after.
        server_errors: Lines of the app's log that report an error.
    """

    condition: Condition
    probe: ProbeResult = field(default_factory=ProbeResult)
    attack: AttackResult | None = None
    attack_error: str | None = None
    prior_logins: list[LoginAttempt] = field(default_factory=list)
    logins: list[LoginAttempt] = field(default_factory=list)
    window_s: float = 0.0
    server_cpu_pct: float = 0.0
    attacker_cpu_pct: float = 0.0
    probe_cpu_pct: float = 0.0
    machine_busy_pct: float = 0.0
    load_average: tuple[float, float] = (0.0, 0.0)
    server_errors: list[str] = field(default_factory=list)

    @property
    def correct(self) -> bool:
        """Every message arrived, the flood ran as planned, and the app logged no error."""
        flood_ok = self.condition.rate <= 0 or (
            self.attack is not None and self.attack_error is None and self.attack.sent > 0
        )
        return self.probe.complete and flood_ok and not self.server_errors


@dataclass(frozen=True)
class World:
    """What the fresh database holds: A and B, their conversation, C, D, the attacked account.

    Attributes:
        a_token: A's login token.
        b_token: B's login token.
        cid: A's and B's conversation.
        bystander_password: C's password.
        target_password: The attacked account's password (its owner's).
        newcomer_password: D's password.
    """

    a_token: str
    b_token: str
    cid: int
    bystander_password: str = ""
    target_password: str = ""
    newcomer_password: str = ""


def seed(db_url: str) -> World:
    """Create A, B, their direct conversation, a login for each, C, D and the attacked account,
    through the app's own services (bcrypt at its real cost: the attacked account's hash
    is what a wrong guess at it is checked against)."""
    from sqlmodel import Session, create_engine

    from chatapp.models import utcnow
    from chatapp.services import accounts, conversations, logins

    engine = create_engine(db_url)
    try:
        names = ("probe_a", "probe_b", BYSTANDER, NEWCOMER, TARGET)
        passwords = {name: secrets.token_urlsafe(16) for name in names}
        with Session(engine) as session:
            ids = [
                accounts.sign_up(session, username=name, display_name=name, password=password).id
                for name, password in passwords.items()
            ]
            cid, _ = conversations.open_direct(session, user_id=ids[0], other_username="probe_b")
            tokens = [logins.start(session, user_id=uid, now=utcnow())[1] for uid in ids[:2]]
        return World(
            a_token=tokens[0],
            b_token=tokens[1],
            cid=cid,
            bystander_password=passwords[BYSTANDER],
            target_password=passwords[TARGET],
            newcomer_password=passwords[NEWCOMER],
        )
    finally:
        engine.dispose()


Server = AppServer | AppCluster


class _Meters:
    """CPU counters read at the start and the end of the measured window."""

    def __init__(self, server: Server, attacker_pid: int | None) -> None:
        self.server = ServerSampler(server.processes, server.worker_pids)
        self.attacker = psutil.Process(attacker_pid) if attacker_pid else None
        self.me = psutil.Process()

    def read(self) -> dict[str, float]:
        machine = psutil.cpu_times()
        values = {
            "wall": time.perf_counter(),
            "server": self.server.cpu(),
            "probe": sum(self.me.cpu_times()[:2]),
            "machine_busy": sum(machine) - machine.idle - getattr(machine, "iowait", 0.0),
            "machine_all": sum(machine),
            "attacker": 0.0,
        }
        if self.attacker is not None:
            with contextlib.suppress(psutil.Error):
                values["attacker"] = sum(self.attacker.cpu_times()[:2])
        return values


def _receive(conn: Connection, timeout: float) -> tuple[str, object]:
    if not conn.poll(timeout):
        return ("error", f"no word from the attacker in {timeout:.0f} s")
    return conn.recv()


async def _measure(
    server: Server,
    world: World,
    condition: Condition,
    config: FloodConfig,
    result: ConditionResult,
    profile: Callable[[], contextlib.AbstractContextManager],
) -> None:
    loop = asyncio.get_running_loop()
    urls = server.backend_urls
    probe = Probe(urls[0], world.a_token, world.b_token, world.cid, b_url=urls[-1])
    await probe.open()
    # Warm-up: the first messages pay for first-time work (imports, caches, the pages'
    # state) that says nothing about a flood.
    await probe.run(config.warmup_messages, config.message_rate, time.perf_counter())
    returning = [
        LoginUser("bystander", BYSTANDER, world.bystander_password, (BYSTANDER_ADDRESS,)),
        LoginUser("owner", TARGET, world.target_password, (OWNER_ADDRESS,)),
    ]
    # Returning users: one log-in each from their usual address before any flood, so that
    # during it they log in from an address known for their username (as from home or
    # the office). Unmeasured, but recorded: if it failed, they are no returning users.
    result.prior_logins = await Logins(urls, returning, 1, config.login_timeout).once()
    proc, conn = None, None
    if condition.rate > 0:
        plan = AttackPlan(
            url=urls[0],
            rate=condition.rate,
            seconds=config.settle + config.span + 1.0,  # the flood covers every measured message
            per_address=0 if condition.one_address else config.per_address,
            target=TARGET,
            target_share=config.target_share,
            drain=config.drain,
            nonce=secrets.token_hex(3),
            spread_over=tuple(urls) if len(urls) > 1 else (),
        )
        context = multiprocessing.get_context("spawn")  # no copy of this process's state
        conn, theirs = context.Pipe()
        proc = context.Process(target=attacker.main, args=(theirs, plan), daemon=True, name="login-flood")
        proc.start()
        theirs.close()
        kind, detail = await loop.run_in_executor(None, _receive, conn, 120.0)
        if kind != "ready":
            result.attack_error = str(detail)
            condition = Condition(0)  # measured all the same, as what it is: no flood
        else:
            flood_start = time.perf_counter() + 0.5
            conn.send(flood_start)
    start = time.perf_counter() + 0.5 + (config.settle if condition.rate > 0 else 0.0)
    meters = _Meters(server, proc.pid if proc is not None and condition.rate > 0 else None)
    await asyncio.sleep(max(0.0, start - 0.05 - time.perf_counter()))
    before = meters.read()
    # The newcomer: a first log-in from a new device or network each time.
    fresh = tuple(newcomer_address(k) for k in range(max(1, config.owner_logins)))
    users = [*returning, LoginUser("newcomer", NEWCOMER, world.newcomer_password, fresh)]
    logging_in = asyncio.create_task(
        Logins(urls, users, config.owner_logins, config.login_timeout).run(start, config.span)
    )
    with profile():
        sending = asyncio.create_task(
            probe.run(config.messages, config.message_rate, start, timeout=config.timeout)
        )
        # The window ends with the last message's send time, not after the wait for stragglers.
        await asyncio.sleep(
            max(0.0, start + (config.messages - 1) / config.message_rate - time.perf_counter())
        )
        after = meters.read()
        result.probe = await sending
    result.logins = await logging_in
    window = max(1e-9, after["wall"] - before["wall"])
    result.window_s = window
    result.server_cpu_pct = (after["server"] - before["server"]) / window * 100
    result.attacker_cpu_pct = (after["attacker"] - before["attacker"]) / window * 100
    result.probe_cpu_pct = (after["probe"] - before["probe"]) / window * 100
    result.machine_busy_pct = (
        (after["machine_busy"] - before["machine_busy"])
        / max(1e-9, after["machine_all"] - before["machine_all"])
        * 100
    )
    if proc is not None and conn is not None:
        if result.attack_error is None:
            wait = config.settle + config.span + config.drain + 90
            kind, detail = await loop.run_in_executor(None, _receive, conn, wait)
            if kind == "done":
                result.attack = detail
            else:
                result.attack_error = str(detail)
        proc.join(10)
        if proc.is_alive():
            proc.kill()
            proc.join(5)
        conn.close()
    await probe.close()


def _servers(
    config: FloodConfig, env: dict[str, str], worlds: list[World]
) -> contextlib.AbstractContextManager:
    """A fresh app for one condition: one instance on SQLite, or `config.instances` on one
    Redis and one PostgreSQL database; `seed` fills its database before it starts."""
    if config.instances > 0:
        return AppCluster(config.instances, env, ROOT, lambda url: worlds.append(seed(url)))
    return AppServer(env=env, before_start=lambda url: worlds.append(seed(url)))


def run_condition(
    condition: Condition,
    config: FloodConfig,
    *,
    profile_dir: Path | None = None,
    profile_format: str = "flamegraph",
    log: Callable[[str], None] = print,
) -> ConditionResult:
    """Start a fresh app, measure the probe's messages under the condition's flood, stop.

    Args:
        condition: The flood (or none).
        config: The workload.
        profile_dir: Where to write a py-spy profile of the app's worker during the
            measured messages (None: no profile).
        profile_format: py-spy's format (flamegraph, raw or speedscope).
        log: Where progress goes.
    """
    result = ConditionResult(condition=condition)
    load_before = os.getloadavg()[0]
    worlds: list[World] = []
    env = {"CHATAPP_SEED_DEMO": "0", **config.app_env}
    with _servers(config, env, worlds) as server:
        name = "login-flood-" + condition.label.replace("/s", "-per-s").replace(", ", "-").replace(" ", "-")

        def profile() -> contextlib.AbstractContextManager:
            return profiled(profile_dir, name, server.worker_pids[0], profile_format)

        log(f"{condition.label}: {config.messages} messages at {config.message_rate:g}/s")
        asyncio.run(_measure(server, worlds[0], condition, config, result, profile))
        result.server_errors = [line for path in server.log_paths for line in logged_errors(path)]
    result.load_average = (load_before, os.getloadavg()[0])
    return result
