"""From the tabs' chat logs to the messages phase's figures, and what went wrong.

A message reaches a tab that shows its conversation with its entry (matched by its
client key), and a tab of a member on another page with the conversation's row whose
`seq` is the message's (learned from the entries: the app numbers the messages, the
floor forwards the plan's numbers). Every frame of a tab that carried chat entries is
either the one that brought a message, a read receipt (the members showing the
conversation see it and read it at once: the other members' tabs showing it are told),
or an extra one (a repeat, a read mark, a row sent again); all of them count in the
bytes per message. A receipt anywhere but at a tab showing its conversation, of a member,
is a leak.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from bench.load.message_plan import MessagePlan


@dataclass
class MessageStats:
    """The figures of the messages phase of one run.

    Attributes:
        messages: Messages planned.
        sent: Messages sent (a send time was recorded).
        body_bytes: Bytes of each message's body.
        conversations: conversation id → "direct" or "group", for those messaged.
        open_tabs: Tabs showing a messaged conversation (the senders' among them).
        list_tabs: Other tabs of their members (on the home page: the list).
        deliveries: (message, receiving tab) pairs that arrived, the sender's tab aside.
        latency_ms: Send → arrival at each member's tab but the sender's.
        latency_open_ms: The same, tabs showing the conversation.
        latency_list_ms: The same, tabs where it is a row of the list.
        echo_ms: Send → arrival back at the sender's tab (the answer to its event).
        fanout_ms: Per message, send → arrival at its last receiving tab.
        bytes_open: Bytes of the message that brought it, per tab showing the conversation.
        bytes_list: The same, per tab where it is a row of the list.
        bytes_echo: The same, at the sender's tab.
        per_message_open: Per tab showing a conversation: every chat byte it received in
            the phase, divided by the messages of its conversation.
        per_message_list: The same, per list tab.
        receipts_per_message_open: Per tab showing a conversation (in the order of
            `per_message_open`): the bytes of its receipt frames divided the same way.
        receipt_frames: Frames with read receipts (`seen_map` entries) that brought no
            message, at the tabs showing a conversation.
        receipt_bytes: Their bytes.
        extra_frames: Other frames with chat entries that brought no message (repeats,
            read marks, rows sent again).
        extra_bytes: Their bytes.
        entries_at_list_tabs: Message entries received by tabs not showing their
            conversation (the app should send those only the row).
        held_rows: Rows held by the list tabs once loaded: min and max.
        held_messages: Message entries held by the tabs showing a conversation: min, max.
        reloads: Page loads tabs made by themselves in the phase (a dropped socket
            reconnecting); what they brought is not counted.
        missing: (message id, tab index) pairs that never arrived.
        duplicates: (message id, tab index, times) for messages a tab received again.
        leaks: (tab index, conversation id, kind) chat entries a tab got about a
            conversation its user is not in, and read receipts at a tab that does not
            show their conversation (conversation None: the tab shows none).
        errors: Errors of sends, page loads, and errors the tabs were shown.
        cpu_s: The server's CPU time during the phase.
        samples: The app's JSON as one tab received it ({"entry", "rows"}), which the
            floor then forwards (empty for the floor).
    """

    messages: int = 0
    sent: int = 0
    body_bytes: int = 0
    conversations: dict[int, str] = field(default_factory=dict)
    open_tabs: int = 0
    list_tabs: int = 0
    deliveries: int = 0
    latency_ms: list[float] = field(default_factory=list)
    latency_open_ms: list[float] = field(default_factory=list)
    latency_list_ms: list[float] = field(default_factory=list)
    echo_ms: list[float] = field(default_factory=list)
    fanout_ms: list[float] = field(default_factory=list)
    bytes_open: list[int] = field(default_factory=list)
    bytes_list: list[int] = field(default_factory=list)
    bytes_echo: list[int] = field(default_factory=list)
    per_message_open: list[float] = field(default_factory=list)
    per_message_list: list[float] = field(default_factory=list)
    receipts_per_message_open: list[float] = field(default_factory=list)
    receipt_frames: int = 0
    receipt_bytes: int = 0
    extra_frames: int = 0
    extra_bytes: int = 0
    entries_at_list_tabs: int = 0
    held_rows: tuple[int, int] = (0, 0)
    held_messages: tuple[int, int] = (0, 0)
    reloads: int = 0
    missing: list[tuple[int, int]] = field(default_factory=list)
    duplicates: list[tuple[int, int, int]] = field(default_factory=list)
    leaks: list[tuple[int, int, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    cpu_s: float = 0.0
    samples: dict = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        """Every message was sent and reached every member's tab once, and nothing leaked."""
        return (
            self.sent == self.messages
            and not self.missing
            and not self.duplicates
            and not self.leaks
            and not self.errors
        )


def analyse(
    plan: MessagePlan, t0: dict[int, float], logs: dict[int, dict], tab_users: dict[int, int]
) -> MessageStats:
    """Match each message with its arrival at every tab of every member.

    Args:
        plan: The phase.
        t0: message id → when it was sent.
        logs: tab index → its `ChatLog.take()` of the phase.
        tab_users: tab index → its user, for every tab of the run.
    """
    stats = MessageStats(
        messages=len(plan.messages),
        sent=len(t0),
        body_bytes=len(plan.messages[0].body.encode()) if plan.messages else 0,
        conversations=dict(plan.kinds),
        open_tabs=len(plan.open_tabs),
        list_tabs=len(plan.list_tabs),
    )
    seq_of: dict[str, int] = {}
    for log in logs.values():
        for _, _, items in log["frames"]:
            for kind, _, key, seq in items:
                if kind == "m" and key is not None and seq is not None:
                    seq_of.setdefault(key, seq)
    for tab, log in logs.items():
        stats.errors += [f"tab {tab}: {text}" for text in log["errors"]]
        stats.reloads += log["reloads"]
        for _, _, items in log["frames"]:
            for kind, cid, key, _ in items:
                user = tab_users[tab]
                if kind == "e":
                    leak = not plan.may_get_receipt(tab, user, cid, key or "")
                else:
                    leak = cid is not None and user not in plan.members(cid)
                if leak:
                    stats.leaks.append((tab, cid, kind))
                if kind == "m" and tab in plan.list_tabs:
                    stats.entries_at_list_tabs += 1

    used: dict[int, set[int]] = defaultdict(set)  # tab → indexes of its frames that brought one
    for message in plan.messages:
        start = t0.get(message.id)
        if start is None:
            continue
        slowest = None
        for tab in plan.member_tabs(message.conversation):
            frames = logs.get(tab, {"frames": []})["frames"]
            if tab in plan.open_tabs:
                hits = [
                    i for i, f in enumerate(frames) if _has(f, "m", message.conversation, key=message.key)
                ]
            else:
                seq = seq_of.get(message.key)
                hits = [
                    i for i, f in enumerate(frames) if seq and _has(f, "r", message.conversation, seq=seq)
                ]
            if not hits:
                stats.missing.append((message.id, tab))
                continue
            if len(hits) > 1:
                stats.duplicates.append((message.id, tab, len(hits)))
            used[tab].add(hits[0])
            at, size, _ = frames[hits[0]]
            ms = (at - start) * 1000
            if tab == message.sender_tab:
                stats.echo_ms.append(ms)
                stats.bytes_echo.append(size)
                continue
            stats.deliveries += 1
            stats.latency_ms.append(ms)
            (stats.latency_open_ms if tab in plan.open_tabs else stats.latency_list_ms).append(ms)
            (stats.bytes_open if tab in plan.open_tabs else stats.bytes_list).append(size)
            slowest = ms if slowest is None else max(slowest, ms)
        if slowest is not None:
            stats.fanout_ms.append(slowest)

    per_conversation = defaultdict(int)
    for message in plan.messages:
        per_conversation[message.conversation] += message.id in t0
    for tab, cid in (plan.open_tabs | plan.list_tabs).items():
        frames = logs.get(tab, {"frames": []})["frames"]
        unused = [f for i, f in enumerate(frames) if i not in used[tab]]
        receipts = [f for f in unused if any(item[0] == "e" for item in f[2])]
        stats.receipt_frames += len(receipts)
        stats.receipt_bytes += sum(size for _, size, _ in receipts)
        stats.extra_frames += len(unused) - len(receipts)
        stats.extra_bytes += sum(size for _, size, _ in unused) - sum(size for _, size, _ in receipts)
        if not per_conversation[cid]:
            continue
        share = sum(size for _, size, _ in frames) / per_conversation[cid]
        if tab in plan.open_tabs:
            stats.per_message_open.append(share)
            stats.receipts_per_message_open.append(
                sum(size for _, size, _ in receipts) / per_conversation[cid]
            )
        else:
            stats.per_message_list.append(share)
    return stats


def _has(frame: tuple, kind: str, cid: int, *, key: str | None = None, seq: int | None = None) -> bool:
    """Whether a frame carried this message's entry (by key) or its row (by seq)."""
    return any(
        k == kind and c == cid and (key is None or got_key == key) and (seq is None or got_seq == seq)
        for k, c, got_key, got_seq in frame[2]
    )
