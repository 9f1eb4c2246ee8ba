"""Supervision: the systemd units of deploy/systemd, and what their restart policy does.

systemd does not run here (no PID 1 systemd, so no `systemd-run` either): the units are
checked with `systemd-analyze verify`, and the instance unit's ExecStart runs under a
small supervisor that applies the unit's own Restart=/RestartSec= (tests/deploy/support).
A worker killed with SIGKILL stops the whole instance (Reflex's production server); the
supervisor starts it again, and clients that reconnect as the browser does are online.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import time

import psutil
import pytest
import socketio.exceptions

from bench.reflex_client import ReflexClient
from tests.deploy.support import (
    SYSTEMD,
    UNIT_INSTALL_DIR,
    VENV_BIN,
    Supervisor,
    Unit,
    app_environment,
    create_pair,
    free_port,
    seconds,
    tail,
    wait_for_http,
)
from tests.support import run_async, until

INSTANCE = SYSTEMD / "chatapp@.service"
MIGRATE = SYSTEMD / "chatapp-migrate.service"
TARGET = SYSTEMD / "chatapp.target"


def test_the_units_restart_an_instance_whatever_stopped_it():
    unit = Unit.read(INSTANCE)
    assert unit.value("Service", "Restart") == "always"
    assert 0 < seconds(unit.value("Service", "RestartSec")) <= 10
    assert unit.value("Unit", "StartLimitIntervalSec") == "0", "systemd must never give up restarting"
    assert unit.value("Service", "KillMode", "control-group") == "control-group"
    start = unit.value("Service", "ExecStart")
    assert "run --env prod --backend-only" in start and "--backend-port %i" in start
    # Migrations once, before any instance.
    assert "chatapp-migrate.service" in unit.value("Unit", "Requires")
    assert "chatapp-migrate.service" in unit.value("Unit", "After")
    migrate = Unit.read(MIGRATE)
    assert migrate.value("Service", "Type") == "oneshot"
    assert migrate.value("Service", "ExecStart").endswith("reflex db migrate")
    for each in (unit, migrate):
        assert each.value("Service", "EnvironmentFile") == "/etc/chatapp/chatapp.env"
        assert each.value("Service", "WorkingDirectory") == UNIT_INSTALL_DIR


def test_systemd_analyze_verifies_the_units(tmp_path):
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed")
    # The units as installed, with /opt/chatapp holding the project's venv.
    install = tmp_path / "opt-chatapp"
    install.mkdir()
    (install / ".venv").symlink_to(VENV_BIN.parent, target_is_directory=True)
    units = tmp_path / "units"
    units.mkdir()
    for source in (INSTANCE, MIGRATE, TARGET):
        (units / source.name).write_text(source.read_text().replace(UNIT_INSTALL_DIR, str(install)))
    done = subprocess.run(
        [tool, "verify", "chatapp@8001.service", "chatapp-migrate.service", "chatapp.target"],
        cwd=units,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr


async def _open(url: str, auth_token: str, tab_token: str | None = None) -> ReflexClient:
    """A tab: connect and load the chat page. With `tab_token`, the same tab coming back:
    the browser keeps its token in sessionStorage and retries until the server answers."""
    deadline = time.monotonic() + 60
    while True:
        tab = ReflexClient(url, auth_token)
        if tab_token is not None:
            tab.token = tab_token
        try:
            await tab.connect()
            break
        except (socketio.exceptions.ConnectionError, OSError) as error:
            if time.monotonic() > deadline:
                raise AssertionError(f"nothing accepted a socket at {url} for 60 s") from error
            await asyncio.sleep(0.25)
    await tab.load("/")
    return tab


def _worker(pid: int) -> psutil.Process:
    """The newest process under `reflex run`: Granian's worker, where the app runs."""
    children = psutil.Process(pid).children(recursive=True)
    assert children, "no worker process under reflex run"
    return max(children, key=lambda p: p.create_time())


@pytest.mark.integration
def test_a_killed_worker_is_restarted_and_clients_come_back_online(app_dir, workdir):
    db_url = f"sqlite:///{workdir / 'supervised.db'}"
    env = app_environment(db_url, CHATAPP_PRESENCE_GRACE="0.3")
    migrate = Unit.read(MIGRATE)
    done = subprocess.run(
        migrate.command("ExecStart", install_dir=app_dir),
        cwd=app_dir,
        env={**env, **migrate.environment()},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"the migration unit failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    a, b = create_pair(db_url)

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = workdir / "supervised.log"
    with Supervisor(Unit.read(INSTANCE), instance=str(port), install_dir=app_dir, env=env, log=log) as unit:
        wait_for_http(f"{url}/ping", log=log)
        first_pid = unit.starts[0][1]

        async def scenario() -> float:
            tab_a = await _open(url, a.auth_token)
            tab_b = await _open(url, b.auth_token)
            await tab_b.wait_for(lambda: tab_b.status_of(a.id) == "online")
            await tab_a.wait_for(lambda: tab_a.status_of(b.id) == "online")

            killed = time.monotonic()
            os.kill(_worker(first_pid).pid, signal.SIGKILL)
            # The whole instance stops: both sockets drop.
            await until(lambda: not tab_a.sio.connected and not tab_b.sio.connected, 30)

            # The browser's way back: a new socket with the same tab token, the page loaded again.
            again_b = await _open(url, b.auth_token, tab_b.token)
            again_a = await _open(url, a.auth_token, tab_a.token)
            await again_b.wait_for(lambda: again_b.status_of(a.id) == "online", 30)
            await again_a.wait_for(lambda: again_a.status_of(b.id) == "online", 30)
            back = time.monotonic() - killed
            for tab in (again_a, again_b):
                await tab.disconnect()
            return back

        back = run_async(scenario())
        print(f"instance exits: {unit.exits}, starts: {unit.starts}, online again after {back:.2f} s")
        assert len(unit.exits) == 1, f"the instance should have stopped once:\n{tail(log)}"
        assert len(unit.starts) == 2, f"the supervisor should have started it again:\n{tail(log)}"
        stopped_at, _code = unit.exits[0]
        restarted_at, second_pid = unit.starts[1]
        assert second_pid != first_pid
        assert restarted_at - stopped_at >= unit.restart_sec - 0.05, "RestartSec= was not waited"
        assert back < 60, f"online again only after {back:.1f} s"
        assert wait_for_http(f"{url}/ping", timeout=5) == b'"pong"'
    # `systemctl stop`: nothing of the instance is left.
    assert unit.process is not None and unit.process.poll() is not None
    with pytest.raises(ProcessLookupError):
        os.killpg(second_pid, 0)
