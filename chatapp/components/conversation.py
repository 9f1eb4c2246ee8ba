"""The open conversation: header, members, messages, composer and its dialogs."""

from __future__ import annotations

import reflex as rx

from chatapp.components.announcer import message_announcer, peer_presence_announcer
from chatapp.components.avatar import avatar, avatar_with_presence
from chatapp.components.composer import composer
from chatapp.components.focus_return import returns_focus
from chatapp.components.message_list import message_list
from chatapp.components.people_picker import people_picker
from chatapp.components.presence import custom_status, last_seen_text, online_count, presence_indicator
from chatapp.components.request_banner import block_button, request_banner
from chatapp.components.sidebar import home_link
from chatapp.components.typing import typing_line
from chatapp.services.conversations import Member
from chatapp.states.app_state import AppState
from chatapp.states.chat_state import ChatState
from chatapp.states.groups import GroupsState


def _member(m: rx.Var[Member]) -> rx.Component:
    return rx.hstack(
        avatar_with_presence(m.display_name, m.user_id, size="2"),
        rx.vstack(
            rx.text(
                m.display_name,
                rx.cond(m.user_id == AppState.user_id, " (you)", ""),
                size="2",
                weight="medium",
            ),
            rx.hstack(rx.text("@", m.username, size="1", color_scheme="gray"), last_seen_text(m.user_id)),
            custom_status(m.user_id, with_text=True),
            spacing="0",
        ),
        align="center",
        class_name="member-row",
        custom_attrs={"data-user-id": m.user_id},
    )


def leave_dialog() -> rx.Component:
    """ "Leave group", confirmed first."""
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(
            rx.button(
                "Leave group",
                color_scheme="red",
                variant="soft",
                high_contrast=True,  # soft red text on its own tint was 4.1:1 (axe)
                size="1",
                id="leave-group",
            )
        ),
        rx.alert_dialog.content(
            rx.alert_dialog.title("Leave ", ChatState.current_title, "?"),
            rx.alert_dialog.description(
                "You will stop getting its messages, and its members will see that you left."
            ),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button("Stay", variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(
                    rx.button(
                        "Leave",
                        color_scheme="red",
                        high_contrast=True,  # white on Radix's red 9 is 3.9:1 (axe)
                        on_click=GroupsState.leave_group,
                        id="confirm-leave",
                    )
                ),
                justify="end",
                spacing="2",
            ),
            max_width="420px",
            **returns_focus(),
        ),
    )


def members_popover() -> rx.Component:
    """Who is in the conversation, with presence; adding members to a group, leaving it."""
    return rx.popover.root(
        rx.popover.trigger(
            rx.button(
                rx.icon("users", size=16),
                ChatState.members.length(),
                variant="soft",
                size="2",
                aria_label="Members",
                id="members-button",
            )
        ),
        rx.popover.content(
            rx.vstack(
                rx.text("Members", weight="bold"),
                rx.foreach(ChatState.members, _member),
                rx.cond(
                    ChatState.current_kind == "group",
                    rx.vstack(
                        rx.separator(),
                        rx.text("Add people", size="2", weight="medium"),
                        people_picker(placeholder="Search people to add"),
                        rx.button("Add", size="2", on_click=GroupsState.add_members, id="add-members"),
                        leave_dialog(),
                        width="100%",
                    ),
                ),
                spacing="2",
            ),
            max_height="70vh",
            overflow_y="auto",
            min_width="280px",
        ),
    )


def mute_button() -> rx.Component:
    """Mute or unmute the open conversation's notifications (for this user, everywhere)."""
    muted = ChatState.muted_ids.contains(ChatState.current_id)
    label = rx.cond(muted, "Unmute", "Mute notifications")
    return rx.tooltip(
        rx.icon_button(
            rx.cond(muted, rx.icon("bell-off", size=16), rx.icon("bell", size=16)),
            variant=rx.cond(muted, "solid", "soft"),
            color_scheme="gray",
            size="2",
            aria_label=label,
            on_click=ChatState.set_muted(ChatState.current_id, ~muted),
            id="mute-button",
            custom_attrs={"data-muted": rx.cond(muted, "true", "false")},
        ),
        content=label,
    )


def header() -> rx.Component:
    """Title; the other person's presence (direct) or how many others are online (group);
    muting it; its members."""
    others = online_count(ChatState.current_member_ids, besides=AppState.user_id)
    return rx.hstack(
        home_link(),
        rx.cond(
            ChatState.current_kind == "direct",
            avatar_with_presence(ChatState.current_title, ChatState.current_peer_id),
            avatar(ChatState.current_title),
        ),
        rx.vstack(
            rx.hstack(
                rx.heading(ChatState.current_title, size="4", id="conversation-title", class_name="one-line"),
                rx.cond(
                    ChatState.current_kind == "direct",
                    custom_status(ChatState.current_peer_id, with_text=True, id="header-custom-status"),
                ),
                align="center",
                min_width="0",
            ),
            rx.match(
                ChatState.current_kind,
                ("direct", rx.box(last_seen_text(ChatState.current_peer_id), id="header-presence")),
                (
                    "group",
                    rx.text(
                        ChatState.current_member_ids.length(),
                        " members · ",
                        rx.match(
                            others,
                            (0, "no one else online"),
                            (1, "1 other online"),
                            others.to_string() + " others online",
                        ),
                        size="1",
                        color_scheme="gray",
                        id="header-presence",
                    ),
                ),
                # Not loaded yet (a conversation row just clicked): no line, rather than a
                # group's "0 members · no one else online" over a direct chat.
                rx.text("\u00a0", size="1", aria_hidden="true"),
            ),
            spacing="0",
            min_width="0",
            flex="1",
        ),
        mute_button(),
        block_button(),
        members_popover(),
        padding="10px 16px",
        border_bottom="1px solid var(--gray-a5)",
        align="center",
        width="100%",
    )


def edit_dialog() -> rx.Component:
    """Editing one's own message."""
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Edit message"),
            rx.form(
                rx.vstack(
                    rx.text_area(
                        name="body",
                        default_value=ChatState.edit_body,
                        key=ChatState.edit_id,
                        aria_label="Message text",
                        id="edit-body",
                        rows="4",
                        width="100%",
                    ),
                    rx.hstack(
                        rx.button(
                            "Cancel",
                            type="button",
                            variant="soft",
                            color_scheme="gray",
                            on_click=ChatState.cancel_edit,
                        ),
                        rx.button("Save", type="submit", id="save-edit"),
                        justify="end",
                        width="100%",
                    ),
                ),
                on_submit=ChatState.save_edit,
                reset_on_submit=False,
            ),
            max_width="520px",
            **returns_focus(),
        ),
        open=ChatState.edit_id != 0,
        on_open_change=lambda _open: ChatState.cancel_edit,
    )


def delete_dialog() -> rx.Component:
    """Deleting one's own message, confirmed first."""
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title("Delete this message?"),
            rx.alert_dialog.description("Everyone in the conversation will see “Message deleted” instead."),
            rx.hstack(
                # No handler of its own: Reflex would wrap a button that has one in a box,
                # and Radix, which focuses the Cancel button when the confirmation opens,
                # would focus that box (the focus fell out of the dialog). Closing it
                # calls on_open_change, which cancels (tests/contract/test_radix_focus_parts.py).
                rx.alert_dialog.cancel(rx.button("Keep it", variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(
                    rx.button(
                        "Delete",
                        color_scheme="red",
                        high_contrast=True,  # white on Radix's red 9 is 3.9:1 (axe)
                        on_click=ChatState.delete_message,
                        id="confirm-delete",
                    )
                ),
                justify="end",
                spacing="2",
            ),
            max_width="420px",
            **returns_focus(),
        ),
        open=ChatState.delete_id != 0,
        on_open_change=lambda _open: ChatState.cancel_delete,  # Escape keeps the message
    )


def not_found() -> rx.Component:
    """Shown for a conversation that does not exist or is not the user's."""
    return rx.center(
        rx.vstack(
            home_link(),
            rx.callout(
                ChatState.error, icon="triangle-alert", color_scheme="red", role="alert", id="chat-error"
            ),
            align="center",
        ),
        flex="1",
        height="100dvh",
    )


def skip_link() -> rx.Component:
    """The first stop of the Tab key on a conversation page: straight to the message box,
    past the list of conversations (shown while it has the focus)."""
    return rx.el.a(
        "Skip to the message box",
        href="#composer",
        class_name="sr-only skip-link",
        on_click=rx.call_script("document.getElementById('composer')?.focus()"),
    )


def conversation_pane() -> rx.Component:
    """The right column of a conversation page."""
    return rx.cond(
        ChatState.not_found,
        not_found(),
        rx.vstack(
            header(),
            request_banner(),
            message_list(),
            message_announcer(),
            rx.cond(ChatState.current_kind == "direct", peer_presence_announcer()),
            typing_line(
                ChatState.current_id,
                id="typing-indicator",
                padding="0 16px",
                min_height="1.4em",
                aria_live="polite",
            ),
            composer(),
            edit_dialog(),
            delete_dialog(),
            spacing="0",
            flex="1",
            height="100dvh",
            min_width="0",
            role="main",
            aria_labelledby="conversation-title",
        ),
    )


__all__ = ["conversation_pane", "presence_indicator", "skip_link"]
