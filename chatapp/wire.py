"""What travels on the websocket, named once: the state and event names a client sends,
and the format of keyed-dict entries.

Reflex names a state by its module and class (`reflex___state____state.<module>___<class>`,
snake-cased); a client that speaks the protocol without a browser (the benchmark's, the
tests' raw clients) needs those names. They are spelled here, and
tests/contract/test_wire_names.py checks them against the classes, so a renamed state
fails there instead of in a silent benchmark. No import of Reflex: raw clients use this
module without loading the app.
"""

from __future__ import annotations

ROOT_STATE = "reflex___state____state"
SESSION_STATE = f"{ROOT_STATE}.chatapp___states___session____session_state"
APP_STATE = f"{SESSION_STATE}.chatapp___states___app_state____app_state"
AUTH_FORM_STATE = f"{SESSION_STATE}.chatapp___states___auth____auth_form_state"
CHAT_STATE = f"{APP_STATE}.chatapp___states___chat_state____chat_state"
ACCOUNT_STATE = f"{APP_STATE}.chatapp___states___account____account_state"
PEOPLE_STATE = f"{APP_STATE}.chatapp___states___people____people_state"
GROUPS_STATE = f"{CHAT_STATE}.chatapp___states___groups____groups_state"
TYPING_STATE = f"{CHAT_STATE}.chatapp___states___typing____typing_state"

# Events a page sends (state name + "." + handler).
HYDRATE = f"{ROOT_STATE}.hydrate_and_load"
# A navigation inside the app (no reconnect): Reflex's event that runs the page's on_load
# handlers (a (re)connect's hydrate runs them itself, `reflex_adapter.hydrate`).
ON_LOAD_INTERNAL = f"{ROOT_STATE}.reflex___state____on_load_internal_state.on_load_internal"
LOG_IN = f"{AUTH_FORM_STATE}.log_in"
SET_STATUS = f"{APP_STATE}.set_status"
SET_IDLE = f"{APP_STATE}.set_idle"
# Payload {"choice": "everyone" | "written" | "nobody"}: who sees the user's presence.
SET_PRESENCE_AUDIENCE = f"{APP_STATE}.set_presence_audience"
# Payload {"hide": bool}: "Hide my last seen".
SET_HIDE_LAST_SEEN = f"{APP_STATE}.set_hide_last_seen"
# Payload {"on": bool}: "Let others see when I'm typing".
SET_SHARE_TYPING = f"{APP_STATE}.set_share_typing"
# Payload {"body": text, "key": idempotency key (8-64 of [A-Za-z0-9_-])}.
SEND_MESSAGE = f"{CHAT_STATE}.send_message"
# Payload {"query": text}: people whose username or display name starts with it.
SEARCH_PEOPLE = f"{PEOPLE_STATE}.search_people"
# Payload {"seeing": bool}: the tab is visible and its user active (or no longer).
SET_SEEING = f"{CHAT_STATE}.set_seeing"
# Payload {"typing": bool}: the tab's user started / goes on typing, or stopped.
SET_TYPING = f"{TYPING_STATE}.set_typing"
# Payload {"ids": [conversation id, ...]}: the conversations whose rows the tab's list
# shows on screen now (at most `ROWS_IN_VIEW_MAX`); typing goes only to tabs showing it.
SET_ROWS_IN_VIEW = f"{TYPING_STATE}.set_rows_in_view"
ROWS_IN_VIEW_MAX = 100
# Payload {"on": bool}: the "Send read receipts" choice.
SET_READ_RECEIPTS = f"{CHAT_STATE}.set_read_receipts"
# Payload {"before_id": the oldest message id the tab holds}: the page before it.
LOAD_OLDER = f"{CHAT_STATE}.load_older"

# Custom statuses of the people the user may see, by user id: [emoji, text, until ms or 0].
CUSTOM_STATUS_MAP = "custom_map"
# Payload {"form_data": {"emoji", "text", "clear_after", "utc_offset"}}: the status dialog.
SET_CUSTOM_STATUS = f"{APP_STATE}.set_custom_status"

# The login token's var (kept in the browser's localStorage, sent with every hydrate).
AUTH_TOKEN = f"{SESSION_STATE}.auth_token"

# The tab's presence entries: a keyed dict (see `chatapp.reflex_adapter.keyed_dict`).
PRESENCE_MAP = "presence_map"
# The open conversation's loaded messages, by message id (`chatapp.services.messages.
# MessageView` as a dict); the conversation list's rows, by conversation id (`chatapp.
# services.inbox.ConversationRow` as a dict, the same for every member); each row's member
# ids, by conversation id; and how far the user has read each, by conversation id.
MESSAGE_MAP = "message_map"
CONVERSATION_ROWS = "conversation_rows"
ROW_MEMBERS = "row_members"
READ_SEQ = "read_seq"
# The open conversation's read receipts, by user id ({"user_id", "seq": read up to, "at_ms": when}).
SEEN_MAP = "seen_map"
# Who is typing in the user's conversations, by "<conversation id>-<user id>"
# ([conversation id, user id, server time in ms]; removed when they stop).
TYPING_MAP = "typing_map"


def keyed_prefix(field: str) -> str:
    """What starts the wire key of every entry of a keyed dict var: "presence_map."."""
    return field + "."


def keyed_entry(field: str, key: object) -> str:
    """The wire key of one entry of a keyed dict var: "presence_map.42"."""
    return keyed_prefix(field) + str(key)
