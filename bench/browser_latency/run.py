"""One whole run: the project copy, the database, the two app runs and every scenario."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.app_server import ROOT, AppServer, migrate_database
from bench.browser_latency import BenchError
from bench.browser_latency.app import copy_project, create_pairs
from bench.browser_latency.machine import OtherWork, machine
from bench.browser_latency.scenarios import Context, away_toggle, reloads, tab_close
from bench.browser_latency.stats import recommend_grace, summary
from bench.common import now


def run(trials: int, *, keep: bool = False) -> dict[str, Any]:
    """Run every scenario; returns the results (JSON-able)."""
    tmp = Path(tempfile.mkdtemp(prefix="chatapp-browser-latency-"))
    db_url = f"sqlite:///{tmp / 'bench.db'}"
    # Before chatapp (and rxconfig) are first imported: this process writes the users.
    os.environ["REFLEX_DB_URL"] = db_url
    os.environ.pop("CHATAPP_PRESENCE_GRACE", None)
    os.environ["REFLEX_TELEMETRY_ENABLED"] = "false"
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT / "scripts"))
    from find_chromium import CHROMIUM_ARGS, find_chromium
    from playwright.sync_api import sync_playwright

    from chatapp.settings import load_settings

    info = machine()
    default_grace = load_settings().presence_grace
    # One worker, the in-process presence registry (no Redis), the default grace unless
    # set; no tab may turn away by itself during a long run.
    env: dict[str, str | None] = {
        "REFLEX_REDIS_URL": None,
        "CHATAPP_PRESENCE_GRACE": None,
        "CHATAPP_IDLE_AFTER": "3600",
    }

    def app_run(extra: dict[str, str], log_name: str) -> AppServer:
        """The copied project, production build, pages and socket on one port."""
        return AppServer(
            env={**env, **extra},
            frontend=True,
            db_url=db_url,
            migrate=False,
            workdir=workdir,
            log_path=tmp / log_name,
            ready_timeout=240,
        )

    results: dict[str, Any] = {"trials": trials, "machine": info, "started": now().isoformat()}
    try:
        print(f"[bench] copying the project to {tmp / 'app'}", flush=True)
        workdir = copy_project(tmp / "app")
        print("[bench] migrating a fresh database", flush=True)
        migrate_database(db_url, workdir=workdir)
        pairs = create_pairs(4)
        chromium = find_chromium()
        if chromium is None:
            msg = "no Chromium found (see scripts/find_chromium.py)"
            raise BenchError(msg)
        with OtherWork() as other, sync_playwright() as pw:
            results["other_work"] = other
            browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
            info["chromium"] = browser.version
            try:
                print(f"[bench] app run 1: default grace {default_grace} s", flush=True)
                started = time.monotonic()
                with app_run({}, "app-1.log") as app:
                    results["app_start_s"] = [time.monotonic() - started]
                    ctx = Context(browser, app.frontend_url, trials, default_grace)
                    print(
                        f"[bench] up at {app.frontend_url} in {results['app_start_s'][0]:.1f} s", flush=True
                    )
                    results["away_toggle"] = away_toggle(ctx, pairs[0])
                    print("[bench] tab close", flush=True)
                    results["tab_close"] = tab_close(ctx, pairs[1])
                    print("[bench] reloads, default grace", flush=True)
                    results["reload_default_grace"] = reloads(ctx, pairs[2])
                print("[bench] app run 2: CHATAPP_PRESENCE_GRACE=0", flush=True)
                started = time.monotonic()
                with app_run({"CHATAPP_PRESENCE_GRACE": "0"}, "app-2.log") as app:
                    results["app_start_s"].append(time.monotonic() - started)
                    ctx = Context(browser, app.frontend_url, trials, 0.0)
                    print(
                        f"[bench] up at {app.frontend_url} in {results['app_start_s'][1]:.1f} s", flush=True
                    )
                    results["reload_zero_grace"] = reloads(ctx, pairs[3])
            finally:
                browser.close()
    except BaseException:
        for log in sorted(tmp.glob("app-*.log")):
            print(f"[bench] tail of {log.name}:\n{log.read_text(errors='replace')[-3000:]}", file=sys.stderr)
        raise
    finally:
        info["load_after"] = os.getloadavg()
        if isinstance(results.get("other_work"), OtherWork):
            info["other_work"] = results.pop("other_work").summary()
        if keep:
            print(f"[bench] kept {tmp}", flush=True)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    results["finished"] = now().isoformat()
    results["default_grace_s"] = default_grace
    results["stats"] = {
        "away_toggle": summary(results["away_toggle"]["samples_ms"]),
        "away_toggle_next_frame": summary(results["away_toggle"]["next_frame_ms"]),
        "away_toggle_own": summary(results["away_toggle"]["own_status_ms"]),
        "tab_close": summary(results["tab_close"]["samples_ms"]),
        "tab_close_minus_grace": summary(results["tab_close"]["minus_grace_ms"]),
        "reload_blink_zero_grace": summary(results["reload_zero_grace"]["blink_ms"]),
        "reload_time": summary(results["reload_zero_grace"]["reload_ms"]),
    }
    results["recommendation"] = recommend_grace(results["stats"]["reload_blink_zero_grace"], default_grace)
    return results
