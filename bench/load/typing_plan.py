"""The typing step of the messages phase, decided in advance: who types where, and when.

After the read receipts, each messaged conversation has one typer a round (its members
in turn), typing in their tab showing it: the tab reports that its user started typing,
then, once every other member's tab has the entry, that they stopped. Every tab of every
other member (showing the conversation or on the list) is told both; the typer's own tabs
nothing. Made from the messages phase's plan and the configuration alone, so the app and
the floor get the same typing.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.load.config import LoadConfig
from bench.load.graph import ContactGraph
from bench.load.message_plan import MessagePlan


@dataclass(frozen=True)
class Typing:
    """One typer's start and stop in one round.

    Attributes:
        id: Its number in the run.
        round: The round it is part of.
        at: Seconds after the start of its round's starts, and again of its round's stops.
        conversation: Where they type.
        typer: Who types.
        typer_tab: The typer's tab showing the conversation (it reports both).
        receivers: Every tab of the other members: each is told the start and the stop.
    """

    id: int
    round: int
    at: float
    conversation: int
    typer: int
    typer_tab: int
    receivers: tuple[int, ...]


def make(graph: ContactGraph, plan: MessagePlan, config: LoadConfig) -> list[Typing]:
    """The typing of the step, round after round (none without messaged conversations)."""
    rate = max(config.message_rate, 1e-3)
    typings: list[Typing] = []
    for rnd in range(config.typing_rounds):
        for i, (cid, members) in enumerate(plan.together()):
            typer = members[rnd % len(members)]
            own = set(graph.tabs_of(typer))
            receivers = tuple(tab for tab in plan.member_tabs(cid) if tab not in own)
            typings.append(
                Typing(len(typings), rnd, i / rate, cid, typer, graph.tabs_of(typer)[0], receivers)
            )
    return typings
