"""Redis and PostgreSQL of a run's own: a redis-server on a free port (to kill, freeze,
restart and read the figures of), and a fresh PostgreSQL database dropped afterwards.

Shared by the benchmark (`bench.load.cluster`) and the tests that need their own
(tests/scaleout/, tests/contract/test_redis_store.py)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bench.app_server import free_port, migrate_database

# A database of the machine's PostgreSQL to connect to while creating one of a run's own.
POSTGRES_URL = os.environ.get(
    "CHATAPP_TEST_POSTGRES_URL",
    os.environ.get("CHATAPP_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
)


@contextlib.contextmanager
def fresh_postgres_database(*, migrate: bool = True, admin_url: str = POSTGRES_URL) -> Iterator[str]:
    """A new, empty PostgreSQL database (migrated with `reflex db migrate` unless told
    not to) for as long as the block lasts; dropped afterwards."""
    name = f"chatapp_run_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        if migrate:
            migrate_database(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class RedisServer:
    """A redis-server of one's own on a free port. Without `options`, no persistence (a
    restart comes back empty); `options` run it with those instead, in `data_dir`."""

    def __init__(self, options: list[str] | None = None, data_dir: Path | None = None) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.options = options if options is not None else ["--save", "", "--appendonly", "no"]
        self.data_dir = data_dir
        self.process: subprocess.Popen | None = None

    def start(self) -> RedisServer:
        """Start it (again, on the same port) and wait until it answers."""
        import redis

        where = ["--dir", str(self.data_dir)] if self.data_dir is not None else []
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), *where, *self.options], stdout=subprocess.DEVNULL
        )
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        try:
            while True:
                try:
                    client.ping()
                    return self
                except redis.ConnectionError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
        finally:
            client.close()

    def kill(self) -> None:
        """SIGKILL: gone at once, without a shutdown of its own."""
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)  # a frozen one must be able to die
            self.process.kill()
            self.process.wait()
            self.process = None

    def pause(self) -> None:
        """SIGSTOP: frozen, its connections open and silent (a hung server, a cut network)."""
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT: answering again, with its data."""
        self.process.send_signal(signal.SIGCONT)

    def stats(self) -> dict[str, float]:
        """Commands processed (in all and by command, as "calls:<name>"), bytes in and out,
        memory used, CPU seconds so far."""
        import redis

        client = redis.Redis.from_url(self.url)
        try:
            info = client.info()
            per_command = client.info("commandstats")
        finally:
            client.close()
        calls = {name.removeprefix("cmdstat_"): float(v["calls"]) for name, v in per_command.items()}
        return {
            **{f"calls:{name}": n for name, n in calls.items()},
            "commands": float(info["total_commands_processed"]),
            "net_in": float(info["total_net_input_bytes"]),
            "net_out": float(info["total_net_output_bytes"]),
            "memory": float(info["used_memory"]),
            "cpu": float(info["used_cpu_sys"]) + float(info["used_cpu_user"]),
        }
