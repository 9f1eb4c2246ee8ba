"""Above the open direct chat: a message request to answer, or a block to lift; and the
header's block button."""

from __future__ import annotations

import reflex as rx

from chatapp.states.chat_state import ChatState


def request_banner() -> rx.Component:
    """ "<Name> wants to chat" with Accept / Block, or "You blocked <Name>" with Unblock."""
    return rx.cond(
        ChatState.blocked,
        rx.callout(
            rx.hstack(
                rx.text(
                    "You blocked ", ChatState.current_title, ". They can't message you or see you online."
                ),
                rx.button("Unblock", size="1", variant="soft", on_click=ChatState.unblock_peer, id="unblock"),
                align="center",
                justify="between",
                width="100%",
                wrap="wrap",
            ),
            icon="ban",
            color_scheme="gray",
            size="1",
            id="blocked-banner",
            margin="8px 16px 0",
        ),
        rx.cond(
            ChatState.request,
            rx.callout(
                rx.vstack(
                    rx.text(
                        ChatState.current_title,
                        " wants to chat with you. They can't see whether you're online until you"
                        " reply or accept.",
                    ),
                    rx.hstack(
                        rx.button("Accept", size="1", on_click=ChatState.accept_request, id="accept-request"),
                        rx.button(
                            "Block",
                            size="1",
                            variant="soft",
                            color_scheme="red",
                            high_contrast=True,  # soft red on its tint at 12 px: 4.2:1 (axe)
                            on_click=ChatState.block_peer,
                            id="block-request",
                        ),
                    ),
                    spacing="2",
                ),
                icon="mail-question",
                size="1",
                id="request-banner",
                margin="8px 16px 0",
            ),
        ),
    )


def block_button() -> rx.Component:
    """Block the other person of the open direct chat (the banner then offers Unblock)."""
    return rx.cond(
        (ChatState.current_kind == "direct") & ~ChatState.blocked,
        rx.tooltip(
            rx.icon_button(
                rx.icon("ban", size=16),
                variant="soft",
                color_scheme="gray",
                size="2",
                aria_label="Block",
                on_click=ChatState.block_peer,
                id="block-button",
            ),
            content="Block: no messages from them, no presence either way",
        ),
    )
