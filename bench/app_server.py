"""The real app, started as a subprocess in production mode, for benchmarks.

`AppServer` is a context manager: on entry it creates a fresh temporary SQLite
database (unless given a URL), migrates it with `reflex db migrate`, lets the caller
fill it, starts `reflex run --env prod` on a free port with the environment passed
through, and waits until the backend answers; on exit it ends the whole process
group. It knows the backend URL and the PID of the backend worker (the Granian worker
process that runs the app), so a benchmark can sample its CPU and memory::

    with AppServer(env={"CHATAPP_PRESENCE_GRACE": "0.5"}) as server:
        client = ReflexClient(server.backend_url, token)
        psutil.Process(server.worker_pid).cpu_times()

Each server gets its own states directory (`REFLEX_STATES_WORKDIR`): Reflex empties
that directory on start, and must not empty the one of another server running from
the same checkout.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType

import psutil

ROOT = Path(__file__).resolve().parent.parent


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def reflex_executable() -> str:
    """The `reflex` script of this interpreter's environment (the project's venv)."""
    beside = Path(sys.executable).with_name("reflex")
    return str(beside) if beside.exists() else "reflex"


class AppServerError(RuntimeError):
    """The app did not start (its log tail is in the message)."""


def migrate_database(db_url: str, *, workdir: Path = ROOT, env: Mapping[str, str] | None = None) -> None:
    """Bring a database to the project's latest migration with `reflex db migrate`.

    Raises:
        AppServerError: The migration failed (its output is in the message).
    """
    full_env = {**os.environ, **(env or {}), "REFLEX_DB_URL": db_url, "REFLEX_TELEMETRY_ENABLED": "false"}
    result = subprocess.run(
        [reflex_executable(), "db", "migrate"],
        cwd=workdir,
        env=full_env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        msg = f"reflex db migrate failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
        raise AppServerError(msg)


class ServerProcess:
    """A server run as the leader of its own process group (`process`), with a worker
    process running its event loop (Granian's supervisor forks one without Redis)."""

    process: subprocess.Popen | None = None
    backend_url: str  # each kind of server says where it listens

    @property
    def backend_urls(self) -> list[str]:
        """Every instance's backend address: this server's (an `AppCluster` has several)."""
        return [self.backend_url]

    @property
    def worker_pids(self) -> list[int]:
        """Every instance's worker: this server's (an `AppCluster` has several)."""
        return [self.worker_pid]

    @property
    def log_paths(self) -> list[Path]:
        """Every instance's output, where it is kept (none here)."""
        return []

    @property
    def pid(self) -> int:
        """The PID of the leader (the process group's, and Granian's supervisor)."""
        if self.process is None:
            msg = "the server is not running"
            raise RuntimeError(msg)
        return self.process.pid

    def processes(self) -> list[psutil.Process]:
        """Every process of the server: the leader and its descendants."""
        root = psutil.Process(self.pid)
        return [root, *root.children(recursive=True)]

    @property
    def worker_pid(self) -> int:
        """The PID of the worker that runs the event loop (with several, the first)."""
        workers = [p for p in psutil.Process(self.pid).children(recursive=True) if _is_python(p)]
        if not workers:
            msg = "the server's worker process was not found"
            raise RuntimeError(msg)
        return min(workers, key=lambda p: p.create_time()).pid


class AppServer(ServerProcess):
    """Runs chatapp with `reflex run --env prod` for as long as the `with` block lasts.

    Args:
        env: Extra environment variables for the app (on top of this process's
            environment); a value of None removes the variable.
        port: The port to serve on (a free one when None). In production mode the
            backend and the compiled frontend share it.
        frontend: Build and serve the frontend too (slow: a production build, written into
            `workdir`'s `.web`, so give a copy of the project when others use the checkout).
            The pages then talk to the socket at the address they are served from
            (REFLEX_API_URL), without server-side rendering (this app's production build
            fails with it), and readiness waits for `/` too. Without it the app runs with
            `--backend-only`, which is all a socket client needs.
        db_url: The database to use, already migrated or not. None: a fresh SQLite file
            in a temporary directory, deleted on exit.
        migrate: Run `reflex db migrate` against the database before starting.
        before_start: Called with the database URL after migrating and before starting,
            e.g. to insert users.
        ready_timeout: Seconds to wait for the app to answer before giving up.
        host: The address to bind.
        workdir: Where the app runs from (the checkout).
        log_path: Where the app's output goes (a file in the temporary directory when None).
    """

    def __init__(
        self,
        *,
        env: Mapping[str, str | None] | None = None,
        port: int | None = None,
        frontend: bool = False,
        db_url: str | None = None,
        migrate: bool = True,
        before_start: Callable[[str], None] | None = None,
        ready_timeout: float = 180.0,
        host: str = "127.0.0.1",
        workdir: Path = ROOT,
        log_path: Path | None = None,
    ) -> None:
        self.host = host
        self.port = port or free_port(host)
        self._port_chosen_here = not port
        self.frontend = frontend
        self.workdir = Path(workdir)
        self.ready_timeout = ready_timeout
        self._extra_env = dict(env or {})
        self._db_url = db_url
        self._migrate = migrate
        self._before_start = before_start
        self._log_path = log_path
        self._tmp: Path | None = None
        self._log_file = None
        self.process: subprocess.Popen | None = None

    # Addresses and processes -----------------------------------------------------------

    @property
    def backend_url(self) -> str:
        """Where the backend (and its socket) answers, e.g. http://127.0.0.1:41234."""
        return f"http://{self.host}:{self.port}"

    @property
    def frontend_url(self) -> str:
        """Where the pages are served (the same port in production mode)."""
        return self.backend_url

    @property
    def db_url(self) -> str:
        """The database the app uses."""
        if self._db_url is None:
            msg = "the server has not been entered yet"
            raise RuntimeError(msg)
        return self._db_url

    @property
    def log_path(self) -> Path:
        """The file holding the app's output."""
        if self._log_path is None:
            msg = "the server has not been entered yet"
            raise RuntimeError(msg)
        return self._log_path

    @property
    def log_paths(self) -> list[Path]:
        return [self.log_path]

    @property
    def environment(self) -> dict[str, str]:
        """The environment the app runs with."""
        env = dict(os.environ)
        env.update(
            {
                "REFLEX_DB_URL": self.db_url,
                "REFLEX_TELEMETRY_ENABLED": "false",
                "REFLEX_STATES_WORKDIR": str(self._tmp / "states") if self._tmp else "",
                "PYTHONUNBUFFERED": "1",
            }
        )
        if self.frontend:
            env.setdefault("REFLEX_SSR", "false")
            env["REFLEX_API_URL"] = env["REFLEX_DEPLOY_URL"] = self.backend_url
        path = env.get("PATH", "")
        bin_dir = str(Path(sys.executable).parent)
        if bin_dir not in path.split(os.pathsep):
            path = bin_dir + os.pathsep + path
        local_bun = ROOT / ".tools" / "bun" / "node_modules" / ".bin"  # scripts/bootstrap.sh's
        if shutil.which("bun", path=path) is None and (local_bun / "bun").exists():
            path = str(local_bun) + os.pathsep + path
        if shutil.which("bun", path=path) is not None:
            env.setdefault("REFLEX_USE_SYSTEM_BUN", "true")  # Reflex's own installer needs the internet
        env["PATH"] = path
        for key, value in self._extra_env.items():  # the caller has the last word
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        return env

    # Life ------------------------------------------------------------------------------

    def __enter__(self) -> AppServer:
        self._tmp = Path(tempfile.mkdtemp(prefix="chatapp-bench-"))
        if self._db_url is None:
            self._db_url = f"sqlite:///{self._tmp / 'app.db'}"
        if self._log_path is None:
            self._log_path = self._tmp / "app.log"
        try:
            if self._migrate:
                self._run_migrations()
            if self._before_start is not None:
                self._before_start(self.db_url)
            self._start_on_a_free_port()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_on_a_free_port(self, tries: int = 3) -> None:
        """Start and wait until ready. A port found free (`free_port`) can be taken before
        the app binds it (by a client connection's source port: a login flood opens
        thousands); the app then exits saying so, and starts again on another one."""
        for attempt in range(tries):
            self._start()
            try:
                self._wait_ready()
                return
            except AppServerError:
                taken = "already in use" in self.log_tail()
                if not (taken and self._port_chosen_here) or attempt == tries - 1:
                    raise
                self.stop()
                self.port = free_port(self.host)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        if self._tmp is not None and exc_type is None:
            shutil.rmtree(self._tmp, ignore_errors=True)

    def _run_migrations(self) -> None:
        migrate_database(self.db_url, workdir=self.workdir, env=self.environment)

    def _start(self) -> None:
        command = [reflex_executable(), "run", "--env", "prod", "--backend-port", str(self.port)]
        if self.frontend:
            command += ["--frontend-port", str(self.port)]
        else:
            command += ["--backend-only"]
        command += ["--backend-host", self.host]
        self._log_file = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            command,
            cwd=self.workdir,
            env=self.environment,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, ended as a whole
        )

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.ready_timeout
        pending = [f"{self.backend_url}/ping"] + ([f"{self.frontend_url}/"] if self.frontend else [])
        while pending:
            if self.process is not None and self.process.poll() is not None:
                msg = f"the app exited with {self.process.returncode}:\n{self.log_tail()}"
                raise AppServerError(msg)
            if time.monotonic() > deadline:
                waited = f"{self.ready_timeout:.0f} s"
                msg = f"the app did not answer {pending[0]} within {waited}:\n{self.log_tail()}"
                raise AppServerError(msg)
            try:
                with urllib.request.urlopen(pending[0], timeout=2) as response:
                    if response.status == 200:
                        pending.pop(0)
                        continue
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)

    def log_tail(self, chars: int = 4000) -> str:
        """The end of the app's output."""
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except (OSError, RuntimeError):
            return ""

    def stop(self, timeout: float = 10.0) -> None:
        """End the whole process group: SIGTERM, then SIGKILL after `timeout` seconds."""
        process, self.process = self.process, None
        if process is not None:
            _end_group(process, timeout)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None


def _is_python(process: psutil.Process) -> bool:
    with contextlib.suppress(psutil.Error):
        return "python" in process.name().lower() or "python" in " ".join(process.cmdline()[:1]).lower()
    return False


def _end_group(process: subprocess.Popen, timeout: float) -> None:
    """Signal the process group led by `process`, wait, and kill what is left."""
    try:
        pgid = os.getpgid(process.pid)
    except ProcessLookupError:
        process.wait()
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout)
    # Workers may outlive the leader: kill whatever is left of the group.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    process.wait()
