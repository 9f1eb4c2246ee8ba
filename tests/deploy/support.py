"""Helpers for the deploy tests: the app as the image holds it, its processes, the units.

Everything here runs real things: `reflex` from the project's venv, nginx from Debian,
the app's own services to create users. Nothing is mocked.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
DOCKERFILE = DEPLOY / "Dockerfile"
SYSTEMD = DEPLOY / "systemd"
# Where the units expect the checkout and its .venv; the tests map it to their copy of the
# app (and the .venv to the project's own).
UNIT_INSTALL_DIR = "/opt/chatapp"
VENV_BIN = Path(sys.executable).parent
PASSWORD = "correct horse battery"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def app_environment(db_url: str, **extra: str | None) -> dict[str, str]:
    """The environment of an app process: this one's, one process without Redis, a database.

    A value of None in `extra` removes the variable.
    """
    env = dict(os.environ)
    env.update(
        {
            "REFLEX_DB_URL": db_url,
            "REFLEX_TELEMETRY_ENABLED": "false",
            "PYTHONUNBUFFERED": "1",
            "PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
        }
    )
    # Single-process instances (no Redis): the processes these tests start must not
    # pick up a Redis or state-manager choice from the developer's shell.
    for name in ("REFLEX_REDIS_URL", "REFLEX_STATE_MANAGER_MODE", "GRANIAN_WORKERS"):
        env.pop(name, None)
    for key, value in extra.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


# The image ---------------------------------------------------------------------------


def dockerfile_stages(path: Path = DOCKERFILE) -> dict[str, list[str]]:
    """The Dockerfile's instructions by stage name (continuation lines joined)."""
    stages: dict[str, list[str]] = {}
    current: list[str] | None = None
    logical = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            logical += line[:-1] + " "
            continue
        logical, line = "", logical + line
        match = re.match(r"FROM\s+\S+(?:\s+AS\s+(\S+))?$", line, re.IGNORECASE)
        if match:
            current = stages.setdefault(match.group(1) or f"stage{len(stages)}", [])
        elif current is not None:
            current.append(line)
    return stages


def image_copies(stage: str = "backend") -> list[tuple[list[str], str]]:
    """(sources, destination) of each COPY from the build context in a stage."""
    copies = []
    for instruction in dockerfile_stages()[stage]:
        words = shlex.split(instruction)
        if words[0].upper() != "COPY" or any(w.startswith("--from") for w in words):
            continue
        args = [w for w in words[1:] if not w.startswith("--")]
        copies.append((args[:-1], args[-1]))
    return copies


def copy_app_as_image(dest: Path) -> Path:
    """Copy into `dest` what deploy/Dockerfile copies into /app (its backend stage).

    The tests build and run the app from this copy, so a file missing from the image
    fails them as it would fail the container.
    """
    dest.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for sources, target in image_copies("backend"):
        if target.startswith("/"):
            continue  # into the system (the entry point), not into the app's directory
        for source in sources:
            src = ROOT / source
            out = dest / source.rstrip("/")
            if src.is_dir():
                shutil.copytree(src, out, ignore=ignore, dirs_exist_ok=True)
            else:
                out.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, out)
    return dest


# Users -------------------------------------------------------------------------------


@dataclass(frozen=True)
class User:
    """A user and one login session (what the browser keeps in localStorage)."""

    id: int
    username: str
    auth_token: str


def create_pair(db_url: str) -> tuple[User, User]:
    """Two users who share a direct conversation, each with a login session."""
    import sqlalchemy as sa
    from sqlmodel import Session

    from chatapp.models import utcnow
    from chatapp.services import accounts, conversations, logins
    from tests.support import all_wrote

    engine = sa.create_engine(db_url)
    try:
        with Session(engine) as session:
            users = []
            for prefix in ("dpa", "dpb"):
                name = f"{prefix}_{uuid.uuid4().hex[:8]}"
                user = accounts.sign_up(session, username=name, display_name=name.title(), password=PASSWORD)
                _, token = logins.start(session, user_id=user.id, now=utcnow())
                users.append(User(user.id, name, token))
            cid, _ = conversations.open_direct(session, user_id=users[0].id, other_username=users[1].username)
            all_wrote(session, cid)  # they talked: each sees the other
    finally:
        engine.dispose()
    return users[0], users[1]


# Processes ---------------------------------------------------------------------------


def start_group(command: list[str], *, cwd: Path, env: Mapping[str, str], log: Path) -> subprocess.Popen:
    """Start a command in a process group of its own, output appended to `log`."""
    with open(log, "ab") as out:
        return subprocess.Popen(
            command,
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def end_group(process: subprocess.Popen, timeout: float = 15.0) -> None:
    """SIGTERM the process group, SIGKILL what is left after `timeout` (systemd's way)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def wait_for_http(
    url: str, *, timeout: float = 90.0, process: subprocess.Popen | None = None, log: Path | None = None
) -> bytes:
    """Wait until `url` answers 200; returns the body.

    Raises:
        AssertionError: The process exited, or nothing answered in time (log tail included).
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"exited with {process.returncode} before {url} answered:\n{tail(log)}")
        with (
            contextlib.suppress(urllib.error.URLError, OSError),
            urllib.request.urlopen(url, timeout=2) as response,
        ):
            if response.status == 200:
                return response.read()
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {timeout:.0f} s:\n{tail(log)}")


def tail(log: Path | None, chars: int = 3000) -> str:
    """The end of a log file ("" when there is none)."""
    if log is None:
        return ""
    try:
        return log.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


# systemd units -----------------------------------------------------------------------


@dataclass
class Unit:
    """A systemd unit file: every section's settings, in order (keys may repeat)."""

    path: Path
    sections: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path) -> Unit:
        unit = cls(path)
        section: list[tuple[str, str]] | None = None
        for raw in path.read_text().splitlines():
            line = raw.strip()
            if not line or line.startswith(("#", ";")):
                continue
            if line.startswith("[") and line.endswith("]"):
                section = unit.sections.setdefault(line[1:-1], [])
            elif section is not None:
                key, _, value = line.partition("=")
                section.append((key.strip(), value.strip()))
        return unit

    def values(self, section: str, key: str) -> list[str]:
        return [v for k, v in self.sections.get(section, []) if k == key]

    def value(self, section: str, key: str, default: str | None = None) -> str | None:
        found = self.values(section, key)
        return found[-1] if found else default

    def command(self, key: str, *, instance: str = "", install_dir: Path) -> list[str]:
        """An Exec*= command with %i filled in and the install directory moved to `install_dir`.

        The unit's venv is the project's own (the tests run from its interpreter).
        """
        text = self.value("Service", key)
        assert text, f"{self.path.name} has no {key}="
        text = text.replace("%i", instance).replace("%%", "%")
        words = shlex.split(text)
        venv_bin = f"{UNIT_INSTALL_DIR}/.venv/bin/"
        if words[0].startswith(venv_bin):
            words[0] = str(VENV_BIN / words[0][len(venv_bin) :])
        return [w.replace(UNIT_INSTALL_DIR, str(install_dir)) for w in words]

    def environment(self) -> dict[str, str]:
        """The Environment= assignments (EnvironmentFile= is the test's own environment)."""
        env = {}
        for line in self.values("Service", "Environment"):
            for assignment in shlex.split(line):
                key, _, value = assignment.partition("=")
                env[key] = value
        return env


def seconds(value: str) -> float:
    """A systemd time span with a unit or in seconds ("2", "500ms", "2s", "1min")."""
    match = re.fullmatch(r"([0-9.]+)\s*(ms|s|sec|min|m)?", value.strip())
    assert match, f"cannot read the time span {value!r}"
    number, unit = float(match.group(1)), match.group(2) or "s"
    return number * {"ms": 0.001, "s": 1, "sec": 1, "min": 60, "m": 60}[unit]


class Supervisor:
    """Runs a service unit's ExecStart and restarts it as its Restart=/RestartSec= say.

    What systemd does for `chatapp@PORT.service`, in a thread: start the command in a
    process group of its own (the unit's cgroup), wait for the main process to exit, end
    whatever is left of the group (KillMode=control-group), wait RestartSec, start again
    when the policy says so. stop() is `systemctl stop`: SIGTERM to the group, SIGKILL
    after TimeoutStopSec.
    """

    def __init__(self, unit: Unit, *, instance: str, install_dir: Path, env: Mapping[str, str], log: Path):
        self.unit = unit
        self.command = unit.command("ExecStart", instance=instance, install_dir=install_dir)
        self.cwd = Path(
            (unit.value("Service", "WorkingDirectory") or UNIT_INSTALL_DIR).replace(
                UNIT_INSTALL_DIR, str(install_dir)
            )
        )
        self.env = {**env, **unit.environment()}
        self.log = log
        self.policy = unit.value("Service", "Restart", "no")
        self.restart_sec = seconds(unit.value("Service", "RestartSec", "100ms"))
        self.stop_timeout = seconds(unit.value("Service", "TimeoutStopSec", "90s"))
        assert self.policy in {"no", "always", "on-failure"}, f"Restart={self.policy} is not simulated"
        self.starts: list[tuple[float, int]] = []  # (monotonic time, pid)
        self.exits: list[tuple[float, int]] = []  # (monotonic time, return code)
        self.process: subprocess.Popen | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="supervisor", daemon=True)

    def __enter__(self) -> Supervisor:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _should_restart(self, code: int) -> bool:
        if self.policy == "always":
            return True
        if self.policy == "on-failure":
            return code != 0
        return False

    def _run(self) -> None:
        while not self._stopping.is_set():
            with self._lock:
                if self._stopping.is_set():
                    return
                self.process = start_group(self.command, cwd=self.cwd, env=self.env, log=self.log)
                self.starts.append((time.monotonic(), self.process.pid))
            process = self.process
            code = process.wait()
            # The main process is gone: nothing of the unit may outlive it.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            self.exits.append((time.monotonic(), code))
            if not self._should_restart(code):
                return
            self._stopping.wait(self.restart_sec)

    def stop(self) -> None:
        with self._lock:
            self._stopping.set()
            process = self.process
        if process is not None and process.poll() is None:
            end_group(process, self.stop_timeout)
        self._thread.join(self.stop_timeout + 5)
