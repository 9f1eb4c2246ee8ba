"""One condition: a fresh app so configured, two waves of tabs, memory over time.

The app runs in production mode (`bench.app_server.AppServer`: `reflex run --env prod
--backend-only`, one Granian worker, a fresh SQLite database) without the caps that would
refuse the benchmark's own tabs: every socket comes from 127.0.0.1, so the per-address cap
is off, and so is the per-user tab cap. Then: a sample before any tab; the first wave of
tabs opened, a sample; every tab closed, a sample at once and then every `interval`
seconds for `watch` seconds; the second wave (new tabs, new tab states), the same
samples; the last two after a full garbage collection and after glibc's malloc_trim(0).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.app_server import AppServer
from bench.load.server_stats import logged_errors
from bench.socket_memory import seed
from bench.socket_memory.clients import ClientPool
from bench.socket_memory.probe import Sample, ServerProbe, take

WAVES = ("open", "open again")


@dataclass(frozen=True)
class MemoryConfig:
    """The workload and the pace of the samples.

    Attributes:
        sessions: Tabs open at once in each wave.
        tabs_per_user: Tabs of each user (users = sessions / this, rounded up); a user's
            tabs share one login, as the tabs of one browser do.
        contacts: Direct chats of each user (its nearest neighbours in a ring of users).
        grace: The app's CHATAPP_PRESENCE_GRACE (seconds).
        interval: Seconds between two samples after the tabs closed.
        watch: Seconds of samples after the tabs closed (each wave).
        settle: Seconds to wait after the tabs opened, and before the first sample, for
            what they caused on the server to be done.
        client_procs: Client processes the tabs are spread over.
        concurrency: Tabs opening at once per client process.
        probe: Run the read-only probe inside the server (tab states, allocator figures).
        app_env: Extra environment of the app (the caller has the last word).
    """

    sessions: int = 2000
    tabs_per_user: int = 2
    contacts: int = 4
    grace: float = 1.5
    interval: float = 5.0
    watch: float = 60.0
    settle: float = 3.0
    client_procs: int = 2
    concurrency: int = 50
    probe: bool = True
    app_env: dict[str, str] = field(default_factory=dict)

    @property
    def users(self) -> int:
        """Users with tabs."""
        return -(-self.sessions // max(1, self.tabs_per_user))


@dataclass(frozen=True)
class Condition:
    """One app configuration to measure.

    Attributes:
        ttl: The app's CHATAPP_TAB_STATE_TTL (seconds).
        reflex_expiry: Reflex's own expiry of tab states, REFLEX_REDIS_TOKEN_EXPIRATION
            (seconds after a state's last use; also the in-memory manager's, despite the
            name; None: Reflex's default, an hour). It drops the states of open but idle
            tabs too, so it must outlast the opening of a wave.
    """

    ttl: float
    reflex_expiry: int | None = None

    @property
    def label(self) -> str:
        """How the page names it."""
        extra = f", Reflex expiry {self.reflex_expiry} s" if self.reflex_expiry else ""
        return f"TTL {self.ttl:g} s{extra}"

    def watch(self, config: MemoryConfig) -> float:
        """Seconds of samples after closing: with a Reflex expiry, until it has passed."""
        if self.reflex_expiry is None:
            return config.watch
        return max(config.watch, self.reflex_expiry + 3 * config.interval)


@dataclass
class ConditionResult:
    """What one condition measured.

    Attributes:
        condition: The app's configuration.
        sessions: Tabs per wave.
        samples: Every sample, in order.
        waves: Per wave: what opening reported ("seconds" is the slowest client process's
            time, "failed", "connected", "loaded", "signed_in" summed) and what closing did.
        worker_pid: The server worker's PID.
        server_errors: Errors the app logged (at most 20 lines).
        load_average: The machine's 1-minute load average before and after.
    """

    condition: Condition
    sessions: int
    samples: list[Sample] = field(default_factory=list)
    waves: list[dict] = field(default_factory=list)
    worker_pid: int = 0
    server_errors: list[str] = field(default_factory=list)
    load_average: tuple[float, float] = (0.0, 0.0)

    @property
    def complete(self) -> bool:
        """Both waves opened every tab (connected, loaded, signed in) and closed every one."""
        return len(self.waves) == len(WAVES) and all(
            not w["failed"]
            and w["connected"] == w["loaded"] == w["signed_in"] == self.sessions
            and w["still_connected"] == 0
            for w in self.waves
        )

    def first(self, phase: str) -> Sample | None:
        """The first sample of a phase."""
        return next((s for s in self.samples if s.phase == phase), None)

    def last(self, phase: str) -> Sample | None:
        """The last sample of a phase."""
        return next((s for s in reversed(self.samples) if s.phase == phase), None)


def run_condition(
    config: MemoryConfig, condition: Condition, *, log: Callable[[str], None] = print
) -> ConditionResult:
    """Start the app so configured, open and close both waves, and sample its worker's memory."""
    who = seed.people(config.users, config.contacts)
    tabs = who.tabs(config.tabs_per_user, config.sessions)
    result = ConditionResult(condition=condition, sessions=len(tabs))
    name, watch = condition.label, condition.watch(config)
    result.load_average = (os.getloadavg()[0], 0.0)
    with tempfile.TemporaryDirectory(prefix="chatapp-socket-memory-") as tmp:
        probe = ServerProbe(Path(tmp) if config.probe else None)
        env = {
            "CHATAPP_MAX_SOCKETS_PER_ADDRESS": "0",  # every tab comes from 127.0.0.1
            "CHATAPP_MAX_TABS_PER_USER": "0",
            "CHATAPP_TAB_STATE_TTL": f"{condition.ttl:g}",
            "CHATAPP_PRESENCE_GRACE": f"{config.grace:g}",
            "CHATAPP_SEED_DEMO": "0",
            **probe.environment(),
            **(
                {"REFLEX_REDIS_TOKEN_EXPIRATION": str(condition.reflex_expiry)}
                if condition.reflex_expiry
                else {}
            ),
            **config.app_env,
        }
        with AppServer(env=env, before_start=lambda url: seed.write_database(url, who)) as server:
            pid = result.worker_pid = server.worker_pid
            with ClientPool(server.backend_url, tabs, config.client_procs) as pool:
                pool.all("count")  # the client processes are up: their start-up is not sampled
                time.sleep(config.settle)
                result.samples.append(take(probe, pid, "before any tab", "before"))
                for phase in WAVES:
                    log(f"  {name}: opening {len(tabs):,} tabs ({phase})")
                    opened = pool.all("open", concurrency=config.concurrency)
                    wave = {
                        "seconds": max(o["seconds"] for o in opened),
                        "failed": [f for o in opened for f in o["failed"]][:20],
                        **{k: sum(o[k] for o in opened) for k in ("connected", "loaded", "signed_in")},
                    }
                    time.sleep(config.settle)
                    label = f"{len(tabs):,} {'tabs' if phase == WAVES[0] else 'new tabs'} open"
                    result.samples.append(take(probe, pid, label, phase))
                    log(f"  {name}: closing them, then {watch:g} s of samples")
                    closed = pool.all("close")
                    since = time.monotonic()
                    wave["close_seconds"] = max(c["seconds"] for c in closed)
                    wave["close_errors"] = [e for c in closed for e in c["errors"]]
                    wave["still_connected"] = sum(c["still_connected"] for c in closed)
                    result.waves.append(wave)
                    closing = "closed" if phase == WAVES[0] else "closed again"
                    _watch(result, probe, pid, since, config.interval, watch, closing)
                if config.probe:
                    # What is left: garbage the collector had not reached yet, then what malloc
                    # keeps free that the system could have back.
                    result.samples.append(take(probe, pid, "then gc.collect()", "collected", kind="collect"))
                    result.samples.append(take(probe, pid, "then malloc_trim(0)", "trimmed", kind="trim"))
            result.server_errors = logged_errors(server.log_path)
    result.load_average = (result.load_average[0], os.getloadavg()[0])
    return result


def _watch(
    result: ConditionResult,
    probe: ServerProbe,
    pid: int,
    since: float,
    interval: float,
    watch: float,
    phase: str,
) -> None:
    """A sample right after the close, then one every `interval` until `watch` seconds passed."""
    label = "all closed" if phase == "closed" else "all closed again"
    result.samples.append(take(probe, pid, label, phase, time.monotonic() - since))
    steps = max(0, int(watch / interval + 1e-9)) if interval > 0 else 0
    for step in range(1, steps + 1):
        delay = since + step * interval - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        seconds = time.monotonic() - since
        result.samples.append(take(probe, pid, f"+{step * interval:g} s", phase, seconds))
