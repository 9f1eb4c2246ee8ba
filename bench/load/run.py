"""One run: one server (the app or the floor), one size, every phase.

Phases: open every tab; sit idle (CPU and memory per connected tab); the main phase
(random users change at the configured rate); the wide phase (the hub changes, every
tab receives it); the check of every map against the planned statuses; the reconnect
storm; the check of every map against a fresh tab's snapshot; the messages phase
(`message_phase`), its read receipts step (`receipt_phase`) and its typing step
(`typing_phase`).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from bench.app_server import ROOT, AppServer
from bench.floor_server import FloorServer
from bench.load import (
    analysis,
    cluster,
    message_phase,
    receipt_phase,
    receipt_plan,
    seed,
    typing_phase,
    typing_plan,
)
from bench.load import graph as graph_mod
from bench.load import message_plan as message_plan_mod
from bench.load import plan as plan_mod
from bench.load.analysis import PhaseStats
from bench.load.config import LoadConfig
from bench.load.message_analysis import MessageStats
from bench.load.pool import ClientPool
from bench.load.profiling import profiled
from bench.load.push_tap import PushTap, unpublished
from bench.load.receipt_analysis import ReceiptStats
from bench.load.server_stats import ServerSampler, logged_errors, refused_sockets
from bench.load.typing_analysis import TypingStats
from bench.services import RedisServer

# How long a phase waits, after its window, for deliveries still on their way (late, not
# missing), looking again every `LATE_POLL` seconds.
LATE_WAIT = 30.0
LATE_POLL = 1.0


@dataclass
class RunResult:
    """Everything measured in one run.

    Attributes:
        target: "app" or "floor".
        sessions: Tabs connected.
        users: Users with tabs.
        client_procs: Client processes used.
        connect_seconds: Time to open every tab (at the configured concurrency).
        open_failures: Tabs that failed to open.
        tabs_opened: Tabs open once the opening was done (all of them, unless some failed).
        tabs_reopened: Tabs open after those the changes closed were opened again.
        main: The main phase.
        wide: The hub's changes.
        final_wrong: Tabs whose map differed from the planned statuses after both phases.
        storm_seconds: Drop of every socket → every map right again (None: never).
        storm_reopen_seconds: Drop → the last tab loaded again.
        storm_errors: Tabs that failed to reconnect.
        storm_wrong: Tabs whose map was not right at the end of the storm, and how.
        truth_checked: Tabs compared with a fresh tab's snapshot at the end.
        truth_mismatches: Entries that differed from it.
        truth_failures: Users whose fresh tab never loaded (after retries), and why.
        server_errors: Errors the server logged (tracebacks, ERROR lines, Reflex's token manager's
            failures), at most 21 (the report says "over 20").
        server: CPU and memory figures of the server process tree.
        load_average: The machine's 1-minute load average before and after the run.
        messages: The messages phase (None: not run).
        receipts: Its read receipts step (None: not run).
        typing: Its typing step (None: not run).
    """

    target: str
    sessions: int
    users: int
    client_procs: int
    connect_seconds: float = 0.0
    open_failures: list = field(default_factory=list)
    tabs_opened: int = 0
    tabs_reopened: int = 0
    main: PhaseStats = field(default_factory=PhaseStats)
    wide: PhaseStats = field(default_factory=PhaseStats)
    final_wrong: dict = field(default_factory=dict)
    storm_seconds: float | None = None
    storm_reopen_seconds: float | None = None
    storm_errors: list = field(default_factory=list)
    storm_wrong: dict = field(default_factory=dict)
    truth_checked: int = 0
    truth_mismatches: list = field(default_factory=list)
    truth_failures: list = field(default_factory=list)
    server_errors: list = field(default_factory=list)
    server: dict[str, float] = field(default_factory=dict)
    load_average: tuple[float, float] = (0.0, 0.0)
    messages: MessageStats | None = None
    receipts: ReceiptStats | None = None
    typing: TypingStats | None = None

    @property
    def correct(self) -> bool:
        """Every change reached every receiver, every map is right, nothing leaked."""
        return (
            not self.open_failures
            and self.tabs_opened == self.sessions
            and self.tabs_reopened == self.sessions
            and self.main.complete
            and self.wide.complete
            and not self.final_wrong
            and not self.truth_mismatches
            and not self.truth_failures
            and not self.storm_errors
            and not self.storm_wrong
            and not self.server_errors
            and (self.messages is None or self.messages.complete)
            and (self.receipts is None or self.receipts.complete)
            and (self.typing is None or self.typing.complete)
        )


@contextlib.contextmanager
def _server(
    target: str,
    graph: graph_mod.ContactGraph,
    config: LoadConfig,
    workdir: Path,
    conversations: dict[int, list[int]],
) -> Iterator:
    if target.startswith("app"):
        env = {
            "CHATAPP_PRESENCE_GRACE": str(config.grace),
            "CHATAPP_SEED_DEMO": "0",
            # Every simulated tab comes from 127.0.0.1: the per-address socket cap (a
            # defence against one client opening thousands) would refuse the 501st.
            "CHATAPP_MAX_SOCKETS_PER_ADDRESS": "0",
            **config.app_env,
        }
        workdir = Path(config.app_dir) if config.app_dir else ROOT
        count = cluster.instances_of(target)
        if count is not None:
            write = lambda url: seed.write_database(url, graph)  # noqa: E731
            with cluster.AppCluster(count, env, workdir, write) as servers:
                yield servers
            return
        with AppServer(
            env=env, workdir=workdir, before_start=lambda url: seed.write_database(url, graph)
        ) as server:
            yield server
    else:
        path = seed.write_floor_graph(workdir / "graph.json", graph, conversations)
        with FloorServer(path, grace=config.grace) as server:
            yield server


def run(
    target: str,
    config: LoadConfig,
    *,
    profile_dir: Path | None = None,
    profile_format: str = "flamegraph",
    templates: dict | None = None,
    log=print,
) -> RunResult:
    """Run every phase against one server.

    Args:
        target: "app", "floor", or "app@N" (N instances on Redis and PostgreSQL).
        config: The workload.
        profile_dir: Where to write py-spy profiles of the server's worker, one per phase
            (main, wide, storm); None for none.
        profile_format: py-spy's output format (flamegraph, raw or speedscope).
        templates: The app's message JSON, for the floor's messages phase to forward
            (`MessageStats.samples` of the app's run at the same size).
        log: Where progress goes.
    """
    graph = graph_mod.build(config)
    plan = plan_mod.make(graph, config)
    messages = message_plan_mod.make(graph, config)
    result = RunResult(target=target, sessions=len(graph.tabs), users=len(graph.users), client_procs=0)
    result.load_average = (os.getloadavg()[0], 0.0)
    with (
        tempfile.TemporaryDirectory(prefix="chatapp-load-") as tmp,
        _server(target, graph, config, Path(tmp), messages.conversations) as server,
    ):
        sampler = ServerSampler(server.processes, server.worker_pids)
        redis = getattr(server, "redis", None)
        rss_before, _ = sampler.rss()
        urls = server.backend_urls
        kind = "app" if target.startswith("app") else target
        with ClientPool(kind, urls, graph, config.client_procs) as pool:
            result.client_procs = pool.count

            def spy(phase: str):
                name = f"profile-{target}-{result.sessions}-{phase}"
                return profiled(profile_dir, name, server.worker_pid, profile_format)

            log(f"  {target}: opening {len(graph.tabs)} tabs of {len(graph.users)} users")
            cpu0 = sampler.cpu()
            with spy("open"):
                opened = pool.all("open", concurrency=config.connect_concurrency)
            result.server["open_cpu_s"] = sampler.cpu() - cpu0
            result.connect_seconds = max(o["seconds"] for o in opened)
            result.open_failures = [f for o in opened for f in o["failed"]]
            result.tabs_opened = sum(o["opened"] for o in opened)
            time.sleep(config.settle)
            pool.all("records")  # what the opening caused is not measured
            rss_after, rss_tree = sampler.rss()
            cpu0 = sampler.cpu()
            time.sleep(config.idle)
            idle_cpu = sampler.cpu() - cpu0

            log(f"  {target}: main phase, {len(plan.main)} changes at {config.rate:g}/s")
            clients = ServerSampler(lambda: [psutil.Process(pid) for pid in pool.pids], pool.pids[0])
            cpu0, client0, wall0 = sampler.cpu(), clients.cpu(), time.perf_counter()
            redis0 = redis.stats() if redis is not None else None
            with spy("main"), _tap(redis) as tap:
                result.main = _phase(pool, graph, plan, plan.main, plan.main_span, config, tap)
            cpu_main = sampler.cpu() - cpu0
            if redis is not None:
                redis1 = redis.stats()
                made = max(1, result.main.made)
                result.server["redis_commands_per_change"] = (redis1["commands"] - redis0["commands"]) / made
                result.server["redis_bytes_per_change"] = (
                    redis1["net_in"] + redis1["net_out"] - redis0["net_in"] - redis0["net_out"]
                ) / made
                result.server["redis_cpu_per_change_ms"] = (redis1["cpu"] - redis0["cpu"]) / made * 1000
                result.server["redis_memory_mb"] = redis1["memory"] / 2**20
                # Where the commands go: the busiest commands, per change.
                calls = {
                    k.removeprefix("calls:"): (v - redis0.get(k, 0.0)) / made
                    for k, v in redis1.items()
                    if k.startswith("calls:")
                }
                top = sorted(calls.items(), key=lambda kv: -kv[1])[:8]
                result.server["redis_calls_per_change"] = {k: round(v, 1) for k, v in top if v > 0}
            result.server["clients_main_cpu_pct"] = (
                (clients.cpu() - client0) / (time.perf_counter() - wall0) * 100
            )

            log(f"  {target}: wide phase, {len(plan.wide)} changes of the hub")
            span = plan.wide[-1].at if plan.wide else 0.0
            cpu0 = sampler.cpu()
            with spy("wide"), _tap(redis) as tap:
                result.wide = _phase(pool, graph, plan, plan.wide, span, config, tap)
            cpu_wide = sampler.cpu() - cpu0

            result.final_wrong = analysis.merge(pool.all("expect", statuses=plan.final_status))

            # Every tab open again (the storm drops them all), and every map right again.
            reopened = pool.all("reopen", concurrency=config.connect_concurrency)
            result.open_failures += [f for o in reopened for f in o["failed"]]
            result.tabs_reopened = sum(o["opened"] for o in reopened)
            time.sleep(config.settle)
            _add_leaks(result, pool.all("records"))
            result.final_wrong.update(analysis.merge(pool.all("expect", statuses=plan.reopened_status)))

            if config.storm:
                log(f"  {target}: reconnect storm")
                cpu0 = sampler.cpu()
                at = time.perf_counter() + 0.5
                with spy("storm"):
                    storms = pool.all("storm", at=at, quiet=config.grace + 1.5, timeout=config.storm_timeout)
                cpu_storm = sampler.cpu() - cpu0
                since = [s for storm in storms for s in storm["correct_since"].values()]
                if since and all(s is not None for s in since):
                    result.storm_seconds = max(since) - at
                result.storm_reopen_seconds = max(s["reopened"] for s in storms) - at
                result.storm_errors = [e for s in storms for e in s["errors"]]
                result.storm_wrong = analysis.merge([s["wrong"] for s in storms])
                result.server["storm_open_after"] = sum(s["open"] for s in storms)
                result.server["storm_retries"] = sum(s["retries"] for s in storms)
                result.server["storm_new_tokens"] = sum(s["new_tokens"] for s in storms)
                result.server["storm_dropped_again"] = sum(s["dropped_again"] for s in storms)
                result.server["storm_client_lag_s"] = max(s["client_lag"] for s in storms)
                result.server["storm_refused"] = sum(refused_sockets(path) for path in server.log_paths)
                _add_leaks(result, pool.all("records"))
                result.server["storm_cpu_s"] = cpu_storm
                result.server["storm_peak_rss_mb"] = sampler.peak_rss() / 2**20
                log(f"  {target}: {_storm_summary(result)}")  # now: a run that fails later still shows it

            if config.truth_check:
                log(f"  {target}: comparing every map with a fresh tab's snapshot")
                truths = pool.all("truth", concurrency=10)
                result.truth_checked = sum(t["checked"] for t in truths)
                result.truth_mismatches = [m for t in truths for m in t["mismatches"]]
                result.truth_failures = [f for t in truths for f in t["failed"]]

            if config.messages:
                count, rate = len(messages.messages), config.message_rate
                log(f"  {target}: messages phase, {count} messages at {rate:g}/s")
                with spy("messages"):
                    result.messages = message_phase.run(
                        kind,
                        pool,
                        graph,
                        messages,
                        config,
                        cpu=sampler.cpu,
                        db_url=server.db_url if kind == "app" else None,
                        templates=templates,
                    )
                reads = receipt_plan.make(graph, messages, config)
                if reads:
                    log(f"  {target}: read receipts, {len(reads)} reads in {config.receipt_rounds} rounds")
                    result.receipts = receipt_phase.run(
                        kind,
                        pool,
                        graph,
                        messages,
                        reads,
                        config,
                        cpu=sampler.cpu,
                        templates=templates,
                    )
                typings = typing_plan.make(graph, messages, config)
                if typings:
                    log(f"  {target}: typing, {len(typings)} typers in {config.typing_rounds} rounds")
                    result.typing = typing_phase.run(
                        pool,
                        graph,
                        messages,
                        typings,
                        config,
                        cpu=sampler.cpu,
                        templates=templates,
                    )
        logs = server.log_paths
        # One more than the report lists: it says "over 20" rather than a count that stops.
        result.server_errors = [line for path in logs for line in logged_errors(path, keep=21)][:21]

        deliveries = max(1, result.main.deliveries)
        result.server.update(
            {
                "rss_before_mb": rss_before / 2**20,
                "rss_connected_mb": rss_after / 2**20,
                "rss_tree_mb": rss_tree / 2**20,
                "rss_per_session_kb": (rss_after - rss_before) / max(1, result.sessions) / 1024,
                "idle_cpu_pct": idle_cpu / config.idle * 100,
                "idle_cpu_per_session_pct": idle_cpu / config.idle * 100 / max(1, result.sessions),
                "main_cpu_s": cpu_main,
                "main_cpu_pct": cpu_main / max(1e-9, plan.main_span + config.grace + config.settle) * 100,
                "cpu_per_change_ms": cpu_main / max(1, result.main.made) * 1000,
                "cpu_per_delivery_ms": cpu_main / deliveries * 1000,
                "wide_cpu_per_delivery_ms": cpu_wide / max(1, result.wide.deliveries) * 1000,
            }
        )
    result.load_average = (result.load_average[0], os.getloadavg()[0])
    return result


def _add_leaks(result: RunResult, answers: list[dict]) -> None:
    """Count the leaks recorded outside the measured phases (they are failures all the same)."""
    records = analysis.merge(answers)
    result.main.leaks += [(tab, uid, status) for tab, rec in records.items() for uid, status in rec["leaks"]]


def _phase(
    pool: ClientPool,
    graph: graph_mod.ContactGraph,
    plan: plan_mod.Plan,
    changes: list[plan_mod.Change],
    span: float,
    config: LoadConfig,
    tap: PushTap | None = None,
) -> PhaseStats:
    """Make the changes (each client process makes those of its users) and analyse them;
    with a tap on the instances' push channel, say which lost changes were published."""
    start = time.perf_counter() + 0.5
    until = start + span + config.grace + config.settle
    per_proc: list[list] = [[] for _ in range(pool.count)]
    for c in changes:
        per_proc[pool.owner[c.user]].append((c.id, c.at, c.user, c.kind))
    answers = pool.each("plan", [{"changes": mine, "start": start, "until": until} for mine in per_proc])
    t0 = {cid: t for a in answers for cid, t in a["t0"].items()}
    records = analysis.merge(pool.all("records"))
    # A change is matched to the first entry of its status that arrives within the time
    # the same status of the same user cannot come again.
    window = config.min_gap if changes and changes[0].phase == "main" else 2 * config.wide_gap

    def analysed() -> PhaseStats:
        return analysis.analyse(
            changes,
            plan.receivers,
            t0,
            records,
            grace=config.grace,
            hub_tab=graph.tabs_of(graph.hub)[0],
            window=window,
        )

    stats = analysed()
    # Deliveries still on their way are waited for (`LATE_WAIT`), and counted late.
    give_up = time.perf_counter() + LATE_WAIT
    while stats.missing and time.perf_counter() < give_up:
        time.sleep(LATE_POLL)
        analysis.extend(records, analysis.merge(pool.all("records")))
        stats = analysed()
    stats.errors = [f"change {cid}: {err}" for a in answers for cid, err in a["errors"]]
    if tap is not None:
        by_id = {c.id: c for c in changes}
        stats.unpublished = unpublished(tap, stats.missing, by_id, t0, config.grace + window)
    return stats


@contextlib.contextmanager
def _tap(redis: RedisServer | None) -> Iterator[PushTap | None]:
    """A tap on the push channel of the target's Redis (none without Redis)."""
    if redis is None:
        yield None
        return
    with PushTap(redis.url) as tap:
        yield tap


def _storm_summary(result: RunResult) -> str:
    seconds = result.storm_seconds
    converged = "not converged" if seconds is None else f"converged in {seconds:.1f} s"
    server = result.server
    return (
        f"storm {converged}, {len(result.storm_errors)} failed reconnects, {server['storm_retries']} retries,"
        f" {server['storm_new_tokens']} new tokens, worker peak RSS {server['storm_peak_rss_mb']:.0f} MB,"
        f" {server['storm_dropped_again']} sockets lost again after reopening,"
        f" {server['storm_refused']} sockets refused by busy servers,"
        f" clients' loops at most {server['storm_client_lag_s']:.1f} s behind"
    )
