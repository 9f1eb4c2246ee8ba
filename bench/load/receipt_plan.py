"""The read receipts step of the messages phase, decided in advance: who reads, and when.

After the messages, each messaged conversation is read once a round. The reader (the
members in turn) looks away from their tab showing it (the tab reports that its user no
longer sees it); the next member sends a message from their tab showing it; once the
reader's tab has it, the reader looks back (the tab reports that its user sees it): that
is the read, timed from there to the arrival of its receipt at every other member's tab
showing the conversation, the sender's among them. Made from the messages phase's plan
and the configuration alone, so the app and the floor get the same reads.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.load.config import LoadConfig
from bench.load.graph import ContactGraph
from bench.load.message_plan import Message, MessagePlan, body_of


@dataclass(frozen=True)
class Read:
    """One read of the step.

    Attributes:
        id: Its number in the run.
        round: The round it is part of.
        at: Seconds after the start of its round's sends, and again of its round's reads.
        reader: Who reads.
        reader_tab: The reader's tab showing the conversation.
        message: The message the next member sends meanwhile (the one read).
        receivers: The other members' tabs showing the conversation: each gets the receipt.
    """

    id: int
    round: int
    at: float
    reader: int
    reader_tab: int
    message: Message
    receivers: tuple[int, ...]

    @property
    def conversation(self) -> int:
        """The conversation read."""
        return self.message.conversation


def make(graph: ContactGraph, plan: MessagePlan, config: LoadConfig) -> list[Read]:
    """The reads of the step, round after round (none without messaged conversations)."""
    sent = {cid: 0 for cid in plan.conversations}
    for message in plan.messages:
        sent[message.conversation] += 1
    showing = {uid: graph.tabs_of(uid)[0] for members in plan.conversations.values() for uid in members}
    rate = max(config.message_rate, 1e-3)
    reads: list[Read] = []
    for rnd in range(config.receipt_rounds):
        for i, (cid, members) in enumerate(plan.together()):
            reader, sender = members[rnd % len(members)], members[(rnd + 1) % len(members)]
            number = len(plan.messages) + len(reads)
            message = Message(
                id=number,
                at=i / rate,
                conversation=cid,
                sender=sender,
                sender_tab=showing[sender],
                key=f"bench-{config.seed}-read-{len(reads):06d}",
                body=body_of(number, config.message_bytes),
                seq=plan.history + sent[cid] + rnd + 1,
            )
            receivers = tuple(showing[uid] for uid in members if uid != reader)
            reads.append(Read(len(reads), rnd, i / rate, reader, showing[reader], message, receivers))
    return reads
