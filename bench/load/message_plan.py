"""The messages phase, decided in advance: which conversations, which tabs, which messages.

Made from the graph and the configuration alone, so the app and the floor get the same
messages from the same tabs at the same moments. The conversations are some of the
graph's own (direct chats and groups among users with tabs, the hub's left out), no user
in two of them, those whose members have the most tabs first. Each member's first tab
opens the conversation (`/c/<id>`); the member's other tabs stay on the home page, where
the conversation is one row of the list. Members whose list is shorter than
`list_size` get one-member groups to make up the number: they add no contact, so no
presence receiver changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.load.config import LoadConfig
from bench.load.graph import ContactGraph

_FILLER = (
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor "
    "incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud "
)


@dataclass(frozen=True)
class Message:
    """One message of the phase.

    Attributes:
        id: Its number in the run.
        at: Seconds after the start of the phase.
        conversation: The conversation it goes to.
        sender: Who sends it.
        sender_tab: The tab it is sent from (the sender's, with the conversation open).
        key: Its idempotency key (8-64 of [A-Za-z0-9_-], unique in the run).
        body: Its text.
        seq: The conversation's message number it is to get (history + its rank).
    """

    id: int
    at: float
    conversation: int
    sender: int
    sender_tab: int
    key: str
    body: str
    seq: int


@dataclass
class MessagePlan:
    """The conversations, tabs and messages of the phase.

    Attributes:
        conversations: conversation id → member ids, for the conversations messaged.
        kinds: conversation id → "direct" or "group".
        open_tabs: tab index → the conversation it shows (`/c/<id>`).
        list_tabs: tab index → the messaged conversation of its user, shown as a list row
            (the tab stays on the home page).
        solo: conversation id → the one member of a seeded one-member group.
        messages: The messages, in the order they are sent.
        history: Messages of history in each messaged conversation.
        span: Seconds from the first message to the last.
    """

    conversations: dict[int, list[int]]
    kinds: dict[int, str]
    open_tabs: dict[int, int]
    list_tabs: dict[int, int]
    solo: dict[int, int]
    messages: list[Message]
    history: int
    span: float
    _members: dict[int, frozenset[int]] = field(default_factory=dict, repr=False)

    def member_tabs(self, conversation: int) -> list[int]:
        """Every tab of every member of a messaged conversation."""
        tabs = self.open_tabs | self.list_tabs
        return sorted(tab for tab, cid in tabs.items() if cid == conversation)

    def members(self, conversation: int) -> frozenset[int]:
        """The members of any conversation of the run (empty for an unknown id)."""
        return self._members.get(conversation, frozenset())

    def together(self) -> list[tuple[int, list[int]]]:
        """(conversation id, member ids) of the messaged conversations of more than one
        member, by id: where one member can tell the others something."""
        return [(cid, members) for cid, members in sorted(self.conversations.items()) if len(members) > 1]

    def may_see_typing(self, user: int, conversation: int | None, typer: str) -> bool:
        """Whether `typer` (an id as text) typing in a conversation may reach a tab of
        `user` (on any page): only another member's (the app sends it only to tabs that
        show the conversation; the run's list tabs report every row on screen).
        """
        return (
            conversation is not None
            and typer.isdigit()
            and int(typer) != user
            and {int(typer), user} <= self.members(conversation)
        )

    def may_get_receipt(self, tab: int, user: int, conversation: int | None, reader: str) -> bool:
        """Whether a read receipt of `reader` (an id as text) about a conversation may
        reach a tab of `user`: only a tab showing that conversation, of another member.
        """
        return (
            conversation is not None
            and self.open_tabs.get(tab) == conversation
            and reader.isdigit()
            and int(reader) != user
            and int(reader) in self.members(conversation)
        )

    def pages(self) -> dict[int, tuple[str, int]]:
        """tab index → (page path, conversation id or 0) of every tab of every member."""
        out = {tab: (f"/c/{cid}", cid) for tab, cid in self.open_tabs.items()}
        out.update({tab: ("/", 0) for tab in self.list_tabs})
        return out


def body_of(number: int, length: int) -> str:
    """A message body of exactly `length` ASCII characters (at least its number)."""
    head = f"m{number} "
    text = head + _FILLER * (length // len(_FILLER) + 1)
    return text[: max(length, len(head.strip()))]


def make(graph: ContactGraph, config: LoadConfig) -> MessagePlan:
    """The messages phase of a graph and a configuration."""
    every = {cid: members for cid, (_, members) in enumerate(graph.conversations, start=1)}
    chosen = _choose(graph, config.message_convs)
    open_tabs, list_tabs = {}, {}
    for cid in chosen:
        for uid in every[cid]:
            first, *rest = graph.tabs_of(uid)
            open_tabs[first] = cid
            list_tabs.update(dict.fromkeys(rest, cid))

    count = {uid: 0 for uid in graph.names}
    for members in every.values():
        for uid in members:
            count[uid] += 1
    solo: dict[int, int] = {}
    next_id = len(graph.conversations) + 1
    for cid in chosen:
        for uid in every[cid]:
            for _ in range(max(0, config.list_size - count[uid])):
                solo[next_id] = uid
                next_id += 1

    messages = []
    rate = max(config.message_rate, 1e-3)
    for i in range(config.messages if chosen else 0):
        cid = chosen[i % len(chosen)]
        rank = i // len(chosen)
        members = every[cid]
        sender = members[rank % len(members)]  # in turn: each stays far under the rate limit
        messages.append(
            Message(
                id=i,
                at=i / rate,
                conversation=cid,
                sender=sender,
                sender_tab=graph.tabs_of(sender)[0],
                key=f"bench-{config.seed}-{i:06d}",
                body=body_of(i, config.message_bytes),
                seq=config.history + rank + 1,
            )
        )
    members = {cid: frozenset(ids) for cid, ids in every.items()}
    members.update({cid: frozenset({uid}) for cid, uid in solo.items()})
    return MessagePlan(
        conversations={cid: list(every[cid]) for cid in chosen},
        kinds={cid: graph.conversations[cid - 1][0] for cid in chosen},
        open_tabs=open_tabs,
        list_tabs=list_tabs,
        solo=solo,
        messages=messages,
        history=config.history,
        span=messages[-1].at if messages else 0.0,
        _members=members,
    )


def _choose(graph: ContactGraph, wanted: int) -> list[int]:
    """Up to `wanted` conversations, half of them groups, no user in two of them.

    Only conversations whose members all have tabs and do not include the hub; those
    whose members have more tabs first (a member with two tabs has one on the list).
    """
    with_tabs = set(graph.users) - {graph.hub}
    candidates = [
        (cid, kind, members)
        for cid, (kind, members) in enumerate(graph.conversations, start=1)
        if set(members) <= with_tabs
    ]
    candidates.sort(key=lambda c: (-sum(len(graph.tabs_of(uid)) > 1 for uid in c[2]), c[0]))
    quota = {"group": wanted // 2, "direct": wanted - wanted // 2}
    taken: set[int] = set()
    out = []
    for cid, kind, members in candidates:
        if quota.get(kind, 0) > 0 and not taken & set(members):
            quota[kind] -= 1
            taken.update(members)
            out.append(cid)
    return sorted(out)
