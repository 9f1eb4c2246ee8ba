"""Several instances of the app for one run: a Redis of the run's own, a fresh
PostgreSQL database, and N production instances (one Granian worker each) sharing both.

What the benchmark calls target "app@N". The tabs are spread over the instances (tab
index modulo N: a user's tabs land on different instances, as behind a load balancer).
Redis is started here so that its figures (commands, CPU, memory) are the run's alone.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import psutil

from bench.app_server import AppServer, migrate_database
from bench.services import RedisServer, fresh_postgres_database


def instances_of(target: str) -> int | None:
    """N for a target "app@N" (None: not a cluster target)."""
    name, _, count = target.partition("@")
    return int(count) if name == "app" and count else None


class AppCluster:
    """N instances of the app on one Redis and one PostgreSQL database (see module doc).

    Args:
        count: Instances.
        env: Their environment (on top of the Redis and database settings).
        workdir: The checkout to run.
        seed: Fills the database before the instances start (given its URL).
    """

    def __init__(self, count: int, env: dict[str, str], workdir: Path, seed: Callable[[str], None]) -> None:
        self.count = count
        self.env = env
        self.workdir = workdir
        self.seed = seed
        self.servers: list[AppServer] = []
        self.redis: RedisServer | None = None
        self.db_url = ""
        self._stack = contextlib.ExitStack()
        self._tmp: Path | None = None

    def __enter__(self) -> AppCluster:
        try:
            self._tmp = Path(tempfile.mkdtemp(prefix="chatapp-cluster-"))
            self.db_url = self._stack.enter_context(fresh_postgres_database(migrate=False))
            migrate_database(self.db_url, workdir=self.workdir)
            self.seed(self.db_url)
            self.redis = RedisServer().start()
            self._stack.callback(self.redis.kill)
            env = {**self.env, "REFLEX_REDIS_URL": self.redis.url, "GRANIAN_WORKERS": "1"}
            self.servers = [
                AppServer(
                    env=env,
                    db_url=self.db_url,
                    migrate=False,
                    workdir=self.workdir,
                    ready_timeout=120,
                    log_path=self._tmp / f"app-{i}.log",
                )
                for i in range(self.count)
            ]
            with concurrent.futures.ThreadPoolExecutor(self.count) as pool:
                started = list(pool.map(lambda s: s.__enter__(), self.servers))
            for server in started:
                self._stack.callback(server.stop)
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()
        if self._tmp is None:
            return
        # Logs that report an error are kept to read (their lines are in the results).
        if any("Traceback" in path.read_text(errors="replace") for path in self._tmp.glob("app-*.log")):
            print(f"  kept the instances' logs: {self._tmp}", flush=True)
            return
        shutil.rmtree(self._tmp, ignore_errors=True)

    @property
    def backend_urls(self) -> list[str]:
        return [s.backend_url for s in self.servers]

    @property
    def backend_url(self) -> str:
        return self.servers[0].backend_url

    @property
    def worker_pids(self) -> list[int]:
        return [s.worker_pid for s in self.servers]

    @property
    def worker_pid(self) -> int:
        return self.servers[0].worker_pid

    def processes(self) -> list[psutil.Process]:
        """Every process of every instance, and Redis."""
        procs = [p for s in self.servers for p in s.processes()]
        if self.redis is not None:
            with contextlib.suppress(psutil.Error):
                procs.append(psutil.Process(self.redis.process.pid))
        return procs

    @property
    def log_paths(self) -> list[Path]:
        return [s.log_path for s in self.servers]
