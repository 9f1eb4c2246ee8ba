"""Who the simulated users are, which tabs they have, and who talks with whom.

Pure and deterministic: the same configuration gives the same graph, so the app and the
floor get the same workload. Ids are those the users get in a fresh database (1, 2, ...).
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field

from bench.load.config import LoadConfig


@dataclass
class ContactGraph:
    """The users, tabs and conversations of a run.

    Attributes:
        hub: The user in `hub_contacts` direct conversations (user 1, one tab).
        users: Users with tabs, the hub first.
        fillers: Users who never connect, there to give the hub its contacts.
        names: user id → (username, display name), for every user.
        conversations: (kind, member ids) of every conversation.
        contacts: user id → the users sharing a conversation with them.
        tabs: (tab index, user id) of every tab.
        login_tokens: user id → the login token their tabs send (one per user, as the
            browser's localStorage holds one).
    """

    hub: int
    users: list[int]
    fillers: list[int]
    names: dict[int, tuple[str, str]]
    conversations: list[tuple[str, list[int]]]
    contacts: dict[int, frozenset[int]]
    tabs: list[tuple[int, int]]
    login_tokens: dict[int, str] = field(default_factory=dict)
    _by_user: dict[int, list[int]] | None = field(default=None, repr=False)

    def tabs_of(self, user_id: int) -> list[int]:
        """The tab indexes of a user."""
        if self._by_user is None:
            self._by_user = {}
            for index, uid in self.tabs:
                self._by_user.setdefault(uid, []).append(index)
        return self._by_user.get(user_id, [])

    def watchers(self, user_id: int) -> frozenset[int]:
        """The users who see this user's presence: their contacts and themself."""
        return self.contacts.get(user_id, frozenset()) | {user_id}


def build(config: LoadConfig) -> ContactGraph:
    """The graph of a configuration."""
    rng = random.Random(config.seed)
    count = config.users
    users = list(range(1, count + 1))
    hub, others = users[0], users[1:]
    fillers = list(range(count + 1, count + 1 + max(0, config.hub_contacts - len(others))))
    names = {uid: (f"u{uid}", f"User {uid}") for uid in users + fillers}
    names[hub] = (f"hub{hub}", "The Hub")

    conversations: list[tuple[str, list[int]]] = [
        ("direct", [hub, other]) for other in (others + fillers)[: config.hub_contacts]
    ]
    conversations += _random_conversations(rng, others, config)

    contacts: dict[int, set[int]] = {uid: set() for uid in users + fillers}
    for _, members in conversations:
        for uid in members:
            contacts[uid].update(m for m in members if m != uid)

    tabs_per_user = _tabs_per_user(config.sessions, others, config.max_tabs)
    tabs = [(0, hub)]
    for uid in others:
        for _ in range(tabs_per_user[uid]):
            tabs.append((len(tabs), uid))

    tokens = {uid: str(uuid.UUID(int=rng.getrandbits(128))) for uid in users}
    return ContactGraph(
        hub=hub,
        users=users,
        fillers=fillers,
        names=names,
        conversations=conversations,
        contacts={uid: frozenset(c) for uid, c in contacts.items()},
        tabs=tabs,
        login_tokens=tokens,
    )


def _tabs_per_user(sessions: int, users: list[int], max_tabs: int) -> dict[int, int]:
    """One tab each, then the extra tabs on as few users as `max_tabs` allows."""
    counts = dict.fromkeys(users, 1)
    extra = max(0, sessions - 1 - len(users))
    for uid in users:
        if extra <= 0:
            break
        more = min(max_tabs - 1, extra)
        counts[uid] += more
        extra -= more
    return counts


def _random_conversations(
    rng: random.Random, users: list[int], config: LoadConfig
) -> list[tuple[str, list[int]]]:
    """Direct chats and groups among `users`, about `convs_per_user` memberships each."""
    if len(users) < 2:
        return []
    size = max(2, min(config.members, len(users)))
    mean_members = 2 * config.direct_share + size * (1 - config.direct_share)
    total = round(len(users) * config.convs_per_user / mean_members)
    pairs: set[tuple[int, int]] = set()
    out: list[tuple[str, list[int]]] = []
    for _ in range(total):
        if rng.random() < config.direct_share:
            a, b = sorted(rng.sample(users, 2))
            if (a, b) in pairs:
                continue  # one direct chat per pair, as the app allows
            pairs.add((a, b))
            out.append(("direct", [a, b]))
        else:
            out.append(("group", sorted(rng.sample(users, size))))
    return out
