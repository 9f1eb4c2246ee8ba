"""From the tabs' chat logs to the read receipts step's figures, and what went wrong.

A read's receipt reaches a receiving tab (another member's, showing the conversation) in
the first frame that carries the reader's receipt up to the number the reader read up
to. Any receipt at a tab that may not get it (one not showing its conversation, a
non-member's, the reader's own) is a leak, whichever read it came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.load.message_plan import MessagePlan
from bench.load.receipt_plan import Read


@dataclass
class ReceiptStats:
    """The figures of the read receipts step of one run.

    Attributes:
        rounds: Rounds of the step.
        reads: Reads planned.
        made: Reads made (stamped).
        expected: (read, receiving tab) pairs planned.
        receipts: Those that arrived.
        latency_ms: Read → its receipt's arrival, at each receiving tab.
        latency_sender_ms: The same, at the tab the message read was sent from.
        fanout_ms: Per read, read → arrival at its last receiving tab.
        bytes: Bytes of the socket.io message that brought each receipt.
        other_receipts: Receipt frames of the step that no measured read explains: the
            other members' reads of the step's messages (they see them at once).
        missing: (read id, tab index) pairs that never arrived.
        duplicates: (read id, tab index, times) for receipts a tab received again.
        leaks: (tab index, conversation id or None, reader id) receipts at a tab that may
            not get them.
        errors: Errors of the step's reports, sends and waits.
        cpu_s: The server's CPU time during the step.
    """

    rounds: int = 0
    reads: int = 0
    made: int = 0
    expected: int = 0
    receipts: int = 0
    latency_ms: list[float] = field(default_factory=list)
    latency_sender_ms: list[float] = field(default_factory=list)
    fanout_ms: list[float] = field(default_factory=list)
    bytes: list[int] = field(default_factory=list)
    other_receipts: int = 0
    missing: list[tuple[int, int]] = field(default_factory=list)
    duplicates: list[tuple[int, int, int]] = field(default_factory=list)
    leaks: list[tuple[int, int | None, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    cpu_s: float = 0.0

    @property
    def complete(self) -> bool:
        """Every read was made and its receipt reached every receiving tab once; no leak."""
        return (
            self.made == self.reads
            and not self.missing
            and not self.duplicates
            and not self.leaks
            and not self.errors
        )


def analyse(
    reads: list[Read],
    stamps: dict[int, tuple[float, int]],
    logs: dict[int, dict],
    plan: MessagePlan,
    tab_users: dict[int, int],
) -> ReceiptStats:
    """Match each read with its receipt's arrival at every receiving tab.

    Args:
        reads: The step's reads.
        stamps: read id → (when it was made, the number read up to).
        logs: tab index → its `ChatLog.take()` of the step, for every tab of the run.
        plan: The messages phase (who may get which receipt).
        tab_users: tab index → its user, for every tab of the run.
    """
    stats = ReceiptStats(
        rounds=len({r.round for r in reads}),
        reads=len(reads),
        made=sum(r.id in stamps for r in reads),
        expected=sum(len(r.receivers) for r in reads),
    )
    receipt_frames: dict[int, set[int]] = {}  # tab → indexes of its frames with receipts
    for tab, log in logs.items():
        for i, (_, _, items) in enumerate(log["frames"]):
            for kind, cid, reader, _ in items:
                if kind != "e":
                    continue
                receipt_frames.setdefault(tab, set()).add(i)
                if not plan.may_get_receipt(tab, tab_users[tab], cid, reader or ""):
                    stats.leaks.append((tab, cid, reader or ""))

    measured = 0
    for read in reads:
        if read.id not in stamps:
            continue
        t0, seq = stamps[read.id]
        slowest = None
        for tab in read.receivers:
            frames = logs.get(tab, {"frames": []})["frames"]
            hits = [i for i, f in enumerate(frames) if _brought(f, read, seq)]
            if not hits:
                stats.missing.append((read.id, tab))
                continue
            if len(hits) > 1:
                stats.duplicates.append((read.id, tab, len(hits)))
            measured += len(hits)
            at, size, _ = frames[hits[0]]
            ms = (at - t0) * 1000
            stats.receipts += 1
            stats.latency_ms.append(ms)
            stats.bytes.append(size)
            if tab == read.message.sender_tab:
                stats.latency_sender_ms.append(ms)
            slowest = ms if slowest is None else max(slowest, ms)
        if slowest is not None:
            stats.fanout_ms.append(slowest)
    stats.other_receipts = sum(len(frames) for frames in receipt_frames.values()) - measured
    return stats


def _brought(frame: tuple, read: Read, seq: int) -> bool:
    """Whether a frame carried this read's receipt."""
    return any(
        kind == "e" and cid == read.conversation and reader == str(read.reader) and got == seq
        for kind, cid, reader, got in frame[2]
    )
