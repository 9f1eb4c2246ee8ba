"""The results page (`docs/socket-memory.md`), written like docs/benchmarks.md: the generated
part above a marker line, the hand-written analysis below it kept as it is."""

from __future__ import annotations

import datetime

from bench.common import MARKER, app_version, machine, server_errors, write
from bench.common import table as _table
from bench.socket_memory.probe import Sample
from bench.socket_memory.run import WAVES, ConditionResult, MemoryConfig

__all__ = ["MARKER", "page", "samples_table", "write"]

MIB = 2**20


def _mib(value: int | None) -> str:
    return "—" if value is None else f"{value / MIB:,.0f}"


def _signed_mib(value: int | None) -> str:
    return "—" if value is None else f"{value / MIB:+,.0f}"


def _count(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def _pymalloc(s: Sample) -> tuple[int | None, int | None]:
    """Bytes of live small objects, and bytes pymalloc holds free in its arenas."""
    stats = s.inside.get("pymalloc")
    if not stats:
        return None, None
    return stats["used"], stats["arena_bytes"] - stats["used"]


def _malloc(s: Sample) -> tuple[int | None, int | None]:
    """Bytes glibc's malloc has handed out (and not had back), and bytes it holds free."""
    stats = s.inside.get("malloc")
    if not stats:
        return None, None
    return stats["used"] + stats["mmapped"], stats["free"]


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def _outside(s: Sample) -> int | None:
    """RSS not in pymalloc's arenas nor in malloc's heaps and mapped blocks: the pages of
    code and libraries, thread stacks, and what native code allocates otherwise (Granian's
    Rust side has an allocator of its own, jemalloc)."""
    py, c = s.inside.get("pymalloc"), s.inside.get("malloc")
    if not py or not c:
        return None
    return s.rss - py["arena_bytes"] - c["heap"] - c["mmapped"]


def _sample_row(s: Sample) -> list[str]:
    py_used, py_free = _pymalloc(s)
    c_used, c_free = _malloc(s)
    return [
        s.label,
        f"{s.seconds:.1f}" if s.phase.startswith("closed") else "",
        _mib(s.rss),
        _mib(s.uss),
        _count(s.inside.get("states")),
        _seconds(s.inside.get("next_expiry")),
        _count(s.inside.get("sockets")),
        _count(s.inside.get("tasks")),
        _mib(py_used),
        _mib(py_free),
        _mib(c_used),
        _mib(c_free),
        _mib(_outside(s)),
    ]


def samples_table(r: ConditionResult) -> str:
    """Every sample of a condition."""
    return _table(
        [
            "Moment",
            "s after close",
            "RSS",
            "USS",
            "Tab states",
            "Soonest expiry s",
            "Sockets",
            "asyncio tasks",
            "Python objects",
            "pymalloc free",
            "malloc in use",
            "malloc free",
            "Outside both",
        ],
        [_sample_row(s) for s in r.samples],
    )


def _rss(s: Sample | None) -> int | None:
    return None if s is None else s.rss


def _delta(a: Sample | None, b: Sample | None) -> str:
    """b minus a, in MiB."""
    return "—" if a is None or b is None else _signed_mib(b.rss - a.rss)


def _summary_row(r: ConditionResult) -> list[str]:
    before, peak1, end1 = r.first("before"), r.first("open"), r.last("closed")
    peak2, end2 = r.first("open again"), r.last("closed again")
    collected, trimmed = r.first("collected"), r.first("trimmed")
    per_tab = (
        "—" if before is None or peak1 is None else f"{(peak1.rss - before.rss) / r.sessions / 1024:,.0f}"
    )
    return [
        r.condition.label,
        _mib(_rss(before)),
        _mib(_rss(peak1)),
        per_tab,
        _mib(_rss(r.first("closed"))),
        _mib(_rss(end1)),
        _delta(peak1, end1),
        _mib(_rss(peak2)),
        _delta(peak1, peak2),
        _mib(_rss(end2)),
        _mib(_rss(collected)),
        _mib(_rss(trimmed)),
    ]


def _wave_row(r: ConditionResult, name: str, wave: dict) -> list[str]:
    return [
        r.condition.label,
        name,
        f"{wave['seconds']:.1f}",
        f"{wave['connected']:,} / {wave['loaded']:,} / {wave['signed_in']:,}",
        str(len(wave["failed"])),
        f"{wave['close_seconds']:.1f}",
        str(wave["still_connected"] + len(wave["close_errors"])),
        str(len(r.server_errors)),
        f"{r.load_average[0]:.2f} / {r.load_average[1]:.2f}",
        "yes" if r.complete else "**no**",
    ]


def _in_this_run(results: list[ConditionResult]) -> list[str]:
    """What the figures of this run say, condition by condition (numbers, not verdicts)."""
    out = []
    for r in results:
        before, peak1, end1 = r.first("before"), r.first("open"), r.last("closed")
        peak2, end2 = r.first("open again"), r.last("closed again")
        collected, trimmed = r.first("collected"), r.first("trimmed")
        if not (before and peak1 and end1 and peak2 and end2):
            continue
        line = (
            f"- **{r.condition.label}.** The first wave took RSS from {_mib(before.rss)} to"
            f" {_mib(peak1.rss)} MiB; {end1.seconds:.0f} s after closing it was {_mib(end1.rss)} MiB"
            f" ({_signed_mib(end1.rss - peak1.rss)} MiB)."
        )
        parts = [(_pymalloc(s)[0], _malloc(s)[0], _outside(s)) for s in (before, peak1)]
        if None not in parts[0] + parts[1]:
            per = [(b - a) / r.sessions / 1024 for a, b in zip(parts[0], parts[1], strict=True)]
            line += (
                f" Per tab: {(peak1.rss - before.rss) / r.sessions / 1024:,.0f} KiB of RSS, of which"
                f" {per[0]:,.0f} KiB Python objects, {per[1]:,.0f} KiB malloc in use and {per[2]:,.0f} KiB"
                " outside both allocators."
            )
        held_open = peak1.inside.get("states")
        if held_open is not None and held_open < r.sessions:
            line += (
                f" Only {held_open:,} of the {r.sessions:,} tabs' states were held with all open: Reflex's"
                " expiry dropped those of tabs idle longer than it while the others opened."
            )
        closed = [s for s in r.samples if s.phase == "closed" and s.inside.get("states") is not None]
        if closed:
            gone = next((s for s in closed if s.inside["states"] == 0), None)
            held = closed[-1].inside
            line += (
                f" Its tab states were all dropped {gone.seconds:.0f} s after closing."
                if gone
                else f" {held['states']:,} tab states were still held then"
                + (
                    f", the soonest of their deadlines {-held['next_expiry']:.0f} s past."
                    if (held.get("next_expiry") or 0) < 0
                    else "."
                )
            )
        line += (
            f" The second wave, as many new tabs, took RSS to {_mib(peak2.rss)} MiB"
            f" ({_signed_mib(peak2.rss - peak1.rss)} MiB against the first wave's peak)"
            f" and left it at {_mib(end2.rss)} MiB."
        )
        _, py_free = _pymalloc(end2)
        _, c_free = _malloc(end2)
        if py_free is not None and c_free is not None:
            line += (
                f" At the end pymalloc held {_mib(py_free)} MiB free inside its arenas and glibc's malloc"
                f" {_mib(c_free)} MiB free in its heaps."
            )
        if collected is not None and collected.inside.get("collected") is not None:
            py_before, _ = _pymalloc(end2)
            py_after, _ = _pymalloc(collected)
            line += (
                f" A full gc.collect() then found {collected.inside['collected']:,} unreachable objects"
                f" (Python objects {_mib(py_before)} → {_mib(py_after)} MiB; RSS {_mib(collected.rss)} MiB)"
            )
            if trimmed is not None:
                line += f", and malloc_trim(0) took RSS to {_mib(trimmed.rss)} MiB"
            line += "."
            kinds = collected.inside.get("garbage_kinds") or {}
            ours = [f"{n:,} `{k}`" for k, n in kinds.items() if k.startswith("granian")]
            common = [f"{n:,} `{k.removeprefix('builtins.')}`" for k, n in list(kinds.items())[:5]]
            if kinds:
                line += f" Commonest among them: {', '.join(common)}"
                line += f"; and {', '.join(ours)}." if ours else "."
            if collected.inside.get("collect_ms") is not None:
                line += (
                    f" The collection held the event loop {collected.inside['collect_ms']:,.0f} ms (an upper"
                    " bound: it ran twice, and counted the garbage's types in between)."
                )
        outside = [_outside(s) for s in (before, peak1, end2)]
        if None not in outside:
            line += (
                f" Outside both allocators: {_mib(outside[0])} MiB before, {_mib(outside[1])} MiB with all"
                f" open, {_mib(outside[2])} MiB at the end."
            )
        out.append(line)
    return out


def page(
    results: list[ConditionResult],
    config: MemoryConfig,
    command: str,
    started: datetime.datetime,
    app_label: str | None = None,
) -> str:
    """The generated part of the page."""
    n = f"{config.sessions:,}"
    waves = [(r, name, wave) for r in results for name, wave in zip(WAVES, r.waves, strict=False)]
    return "\n".join(
        [
            "# Socket memory benchmark",
            "",
            f"Does the server give memory back once {n} tabs have closed? The app runs in production",
            "mode (`reflex run --env prod --backend-only`, one Granian worker, in-memory tab states, a",
            f"fresh SQLite database per condition). {n} simulated tabs (`bench/reflex_client.py`: the",
            "socket, then the page `/` loaded with a login token, as a browser tab does) open from client",
            "processes of their own, stay open, and close; the server worker's memory is sampled before,",
            f"with all open, right after closing and every {config.interval:g} s after that. Then {n} new",
            "tabs (new tab states) open and close again: if they are made from the memory the first wave",
            "freed, the process does not grow.",
            "",
            "A condition is a configuration of the app. `TTL` is `CHATAPP_TAB_STATE_TTL`: how long the",
            "app lets Reflex keep a closed tab's state once the tab has not come back within the presence",
            "grace (3600 s: what Reflex does by itself, whose in-memory states expire an hour after their",
            "last use). `Reflex expiry` sets Reflex's own expiry of every state",
            "(`REFLEX_REDIS_TOKEN_EXPIRATION`, which the in-memory manager uses too) that low: it drops",
            "the states of open idle tabs as well, so it is no setting for production, but it shows what",
            "memory comes back when the states really are dropped.",
            "",
            f"- **Date:** {started:%Y-%m-%d %H:%M} UTC",
            f"- **Machine:** {machine()}. Server and clients on the same machine, shared with other work.",
            f"- **Command:** `{command}`",
            f"- **App under test:** {app_label or app_version(None)}",
            f"- **Tabs:** {n} per wave, {config.tabs_per_user} per user ({config.users:,} users, one login",
            f"  each), {config.contacts} direct chats per user; {config.client_procs} client process(es),",
            f"  {config.concurrency} tabs opening at once in each. Caps off for the run:",
            "  `CHATAPP_MAX_SOCKETS_PER_ADDRESS=0` (every tab comes from 127.0.0.1),",
            f"  `CHATAPP_MAX_TABS_PER_USER=0`; `CHATAPP_PRESENCE_GRACE={config.grace:g}`.",
            "- **Measured:** the worker's RSS (its pages in RAM, those it shares with Granian's",
            "  supervisor since the fork included) and USS (the pages only it holds) with psutil; from",
            "  inside, with a read-only probe the benchmark puts on the app's PYTHONPATH",
            "  (`bench/socket_memory/probe_site/sitecustomize.py`, not part of the app): Reflex's tab",
            "  states and the soonest of their expiry deadlines, the sockets Reflex knows, unfinished",
            "  asyncio tasks, live small Python objects and the free space in pymalloc's arenas",
            "  (`sys._debugmallocstats`), glibc malloc's bytes in use and free (`mallinfo2`, all its",
            "  arenas). Outside both: the rest of RSS (code and libraries, thread stacks, and memory",
            "  native code takes otherwise: Granian's Rust side has its own allocator, jemalloc). The",
            "  last two samples follow a full `gc.collect()` on the event loop, then `malloc_trim(0)`,",
            "  both run in the worker by the probe.",
            "",
            "## Summary",
            "",
            f"RSS of the server worker, MiB. Per tab: (all open − before) / {n}, in KiB. End: the last",
            "sample after closing.",
            "",
            _table(
                [
                    "Condition",
                    "Before",
                    f"{n} open",
                    "Per tab KiB",
                    "All closed",
                    "End",
                    "End − open",
                    "New tabs open",
                    "2nd − 1st peak",
                    "End (2nd)",
                    "After gc",
                    "After malloc_trim",
                ],
                [_summary_row(r) for r in results],
            ),
            "",
            *_in_this_run(results),
            "",
            "## Where freed memory goes",
            "",
            "A closed tab's memory is not freed when its socket closes, and what is freed mostly does",
            "not go back to the operating system: it goes back to the allocator that gave it, inside the",
            "process, and the next objects are made from it. RSS counts it all the same.",
            "",
            "- **Garbage not collected yet.** An object that is part of a reference cycle is freed only",
            "  by Python's cyclic collector. It runs when allocations outnumber deallocations by its",
            "  threshold (700 objects by default, 10,000 as the app sets it), and it reaches the oldest",
            "  generation, where objects that lived as long as a connection end up, only once the",
            "  objects moved there since its last full pass number a quarter of those that survived it:",
            "  on a server that goes quiet once its tabs have closed, that can take very long. A closed",
            "  connection leaves such cycles (its",
            "  handler's cancelled coroutines with their frames and tracebacks, and Granian's",
            "  `ASGIWebsocketProtocol`, which holds the connection's native buffers, allocated by",
            "  Granian's Rust side with its own allocator, jemalloc). The `After gc` column shows what",
            "  they kept.",
            "- **Tab states not dropped yet.** Reflex keeps a tab's state until its expiry (below).",
            "",
            "Once freed, memory goes back to one of two allocators:",
            "",
            "- **pymalloc**, CPython's allocator for objects of 512 bytes or less (most of a tab state:",
            "  small dicts, strings, ints, short lists), takes memory from the system in arenas of 1 MiB,",
            "  cut into 16 KiB pools of one size class each. An arena goes back to the system only when",
            "  every block in it is free: one object that outlives the tabs (a cached string, an entry",
            "  in a long-lived dict, an object on a free list) keeps its whole arena, and objects made",
            "  while the tabs were open are spread over the same arenas as their states. The free blocks",
            "  of the arenas kept are where the next objects of their size go.",
            "- **glibc malloc**, for everything larger (the tables of big dicts, long strings, the",
            "  sockets' buffers), keeps freed chunks in its heaps. On its own it gives back only the top",
            "  of a heap once enough there is free, and the blocks it had mapped one by one (from",
            "  128 KiB, a threshold that rises as such blocks are freed); free chunks below a live one",
            "  stay resident. `malloc_trim(0)` also gives back the whole free pages inside the heaps.",
            "",
            "So what tells whether closed tabs are forgotten is the number of tab states and the memory",
            "in use once the garbage is collected (Python objects, malloc in use, outside both), not RSS",
            "alone; and what tells whether the process grows without bound is RSS after a second wave:",
            "memory the first wave freed and the second reused shows as a second peak no higher than",
            "the first.",
            "",
            "## Samples",
            "",
            "MiB unless said otherwise. Soonest expiry: seconds until the earliest expiry deadline of",
            "the tab states (negative: past, and the state is still there). Python objects: bytes in",
            "pymalloc's allocated blocks; pymalloc free: the rest of its arenas (free blocks, empty",
            "pools, overhead). malloc in use / free: `mallinfo2`'s `uordblks` + `hblkhd` / `fordblks`.",
            "Outside both counts malloc's heaps at their full size: the pages `malloc_trim(0)` gives back",
            "from inside them show as a smaller rest.",
            "",
            *[
                line
                for r in results
                for line in (f"### {r.condition.label} (worker PID {r.worker_pid})", "", samples_table(r), "")
            ],
            "## Correctness",
            "",
            "Each wave: the slowest client process's time to open its tabs; the tabs whose socket was",
            "open / whose page loaded / whose page showed their user signed in (their presence map held",
            "their own entry); tabs that failed to open; time to close them; tabs not closed or closed",
            "with an error; errors the app logged (whole condition); the machine's 1-minute load average",
            "before / after the condition.",
            "",
            _table(
                [
                    "Condition",
                    "Wave",
                    "Open s",
                    "Connected / loaded / signed in",
                    "Failed",
                    "Close s",
                    "Not closed",
                    "Server errors",
                    "Load avg",
                    "Complete",
                ],
                [_wave_row(r, name, wave) for r, name, wave in waves],
            ),
            "",
            *server_errors(results, "Errors the app logged:", "; "),
        ]
    )
