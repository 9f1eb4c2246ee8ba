"""Every knob of a benchmark run."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

# The change kinds the driver produces, and the weight of each by default.
KINDS = ("away", "back", "disconnect", "connect")


@dataclass(frozen=True)
class LoadConfig:
    """What to simulate and how hard.

    Attributes:
        sessions: Connected tabs in the run, the hub's one included.
        sessions_per_user: Average tabs per user: the users are sessions / this.
        max_tabs: The most tabs one user has; the extra tabs go to as few users as
            that allows, every other user has one.
        convs_per_user: Conversations each user (the hub aside) is in, on average.
        members: Members of a group conversation.
        direct_share: The share of conversations that are direct chats (two members).
        hub_contacts: The hub is in this many direct conversations, with every other
            user and with as many never-connected users as it takes: the user with
            1,000 contacts, and the user in 1,000 conversations.
        changes: Presence changes driven in the main phase.
        rate: Changes per second in the main phase.
        mix: The weight of each kind of change (away, back, disconnect, connect).
        wide_changes: Changes of the hub (away and back in turn), whose fan-out reaches
            every connected tab.
        wide_gap: Seconds between two changes of the hub.
        grace: Seconds before a user whose last tab closed is shown offline (the app's
            CHATAPP_PRESENCE_GRACE, used by the floor too).
        storm: Run the reconnect storm.
        storm_timeout: Seconds the storm may take to converge before it counts as not
            converged.
        settle: Seconds to wait after opening the tabs, and after the last change of a
            phase, for everything it caused to arrive.
        idle: Seconds with every tab open and nothing changing, to measure idle CPU.
        client_procs: Client processes the tabs are spread over.
        connect_concurrency: Tabs connecting at once per client process at set-up.
        seed: Seed of the graph and of the plan: the same seed gives the same workload.
        app_env: Extra environment of the app (e.g. a state manager mode to compare).
        app_dir: Run the app from this checkout instead of this one (to compare versions).
        app_label: What the results page calls the app under test (default: the checkout's
            commit).
        truth_check: Compare every tab's map with a fresh tab's snapshot at the end.
        messages: Messages sent in the messages phase, after the presence phases (0: no
            messages phase, and nothing of it seeded).
        message_rate: Messages per second in the messages phase (one at a time, paced).
        message_bytes: Length of each message's body (ASCII, so also its bytes).
        message_convs: Conversations the messages go to (half direct, half groups), among
            the graph's, with no member in two of them.
        history: Messages of history seeded in each of those conversations.
        list_size: Conversations in the list of each of their members (one-member groups
            are seeded to make up the number: no new contacts, so presence is unchanged).
        receipt_rounds: Rounds of the read receipts step after the messages (each
            messaged conversation read once a round, the readers in turn; 0: none).
        typing_rounds: Rounds of the typing step after the read receipts (in each
            messaged conversation a member starts typing, then stops, the members in
            turn; 0: none).
    """

    sessions: int = 1000
    sessions_per_user: float = 2.0
    max_tabs: int = 3
    convs_per_user: float = 8.0
    members: int = 5
    direct_share: float = 0.5
    hub_contacts: int = 1000
    changes: int = 200
    rate: float = 20.0
    mix: dict[str, float] = field(default_factory=lambda: dict.fromkeys(KINDS, 1.0))
    wide_changes: int = 6
    wide_gap: float = 1.0
    grace: float = 1.5
    storm: bool = True
    storm_timeout: float = 90.0
    settle: float = 3.0
    idle: float = 3.0
    client_procs: int = 2
    connect_concurrency: int = 50
    seed: int = 1
    app_env: dict[str, str] = field(default_factory=dict)
    app_dir: str | None = None
    app_label: str | None = None
    truth_check: bool = True
    messages: int = 100
    message_rate: float = 4.0
    message_bytes: int = 160
    message_convs: int = 8
    history: int = 200
    list_size: int = 1000
    receipt_rounds: int = 8
    typing_rounds: int = 8

    @property
    def users(self) -> int:
        """Users with tabs (the hub included)."""
        return max(2, round(self.sessions / self.sessions_per_user))

    @property
    def min_gap(self) -> float:
        """Seconds between two changes of the same user: each is delivered before the next."""
        return self.grace + 2.0

    def with_sessions(self, sessions: int) -> LoadConfig:
        """The same configuration at another size."""
        return dataclasses.replace(self, sessions=sessions)
