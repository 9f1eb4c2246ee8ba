"""The open conversation's messages on screen, paged by scrolling up.

`message_layout` lays the loaded messages out in the browser; this module renders each
line and runs the scroller, which keeps the view where the reader is: at the bottom as
messages arrive (if they were there), on the unread divider when a conversation opens,
and in place when older messages load above (scrolling near the top asks for the page
before).
"""

from __future__ import annotations

import reflex as rx

from chatapp.components.avatar import avatar_with_presence
from chatapp.components.message_layout import Item, LayoutScript, arranged
from chatapp.components.presence import custom_status
from chatapp.reflex_adapter.js import event_callback, js_var
from chatapp.states.chat_state import MESSAGES, ChatState

_SCROLLER_JS = """
function useChatappScroller(loadOlder, hasOlder, oldestId, conversationId) {
  const loadRef = useRef(loadOlder);
  loadRef.current = loadOlder;
  const moreRef = useRef(hasOlder);
  moreRef.current = hasOlder;
  const oldestRef = useRef(oldestId);
  oldestRef.current = oldestId;
  useEffect(() => {
    const box = document.getElementById("messages");
    if (!box || !conversationId) return;
    const s = { loading: false, fromBottom: null, atBottom: true, opened: false, timer: null };
    const nearBottom = () => box.scrollHeight - box.scrollTop - box.clientHeight < 48;
    const maybeLoad = () => {
      if (s.loading || !moreRef.current || !oldestRef.current || box.scrollTop > 300) return;
      s.loading = true;
      s.fromBottom = box.scrollHeight - box.scrollTop;
      loadRef.current(oldestRef.current);
      // A refused or failed load must not stop paging for good.
      s.timer = setTimeout(() => { s.loading = false; s.fromBottom = null; }, 5000);
    };
    const settle = () => {
      if (s.fromBottom !== null && box.scrollHeight - s.fromBottom !== box.scrollTop) {
        box.scrollTop = box.scrollHeight - s.fromBottom;
        s.fromBottom = null;
        s.loading = false;
        clearTimeout(s.timer);
      } else if (!s.opened && box.querySelector(".message, .system-line")) {
        s.opened = true;
        const divider = document.getElementById("unread-divider");
        if (divider) divider.scrollIntoView({ block: "center" });
        else box.scrollTop = box.scrollHeight;
      } else if (s.atBottom) {
        box.scrollTop = box.scrollHeight;
      }
      s.atBottom = nearBottom();
      if (s.opened) maybeLoad();
    };
    const onScroll = () => {
      s.atBottom = nearBottom();
      maybeLoad();
    };
    const observer = new MutationObserver(settle);
    observer.observe(box, { childList: true, subtree: true, characterData: true });
    box.addEventListener("scroll", onScroll, { passive: true });
    settle();
    return () => {
      observer.disconnect();
      clearTimeout(s.timer);
      box.removeEventListener("scroll", onScroll);
    };
  }, [conversationId]);
}
"""


class MessageScripts(rx.Fragment):
    """Renders nothing; runs the scroller."""

    def add_imports(self) -> dict:
        return {"react": [rx.ImportVar(tag="useEffect"), rx.ImportVar(tag="useRef")]}

    def add_custom_code(self) -> list[str]:
        return [_SCROLLER_JS]

    def add_hooks(self) -> list[str | rx.Var]:
        load = event_callback(ChatState.load_older, args_spec=lambda before: [before], key="on_older")
        values, data = MESSAGES.js_values()
        oldest = js_var(f"Math.min(...{values}.map((m) => m.id))", int, data=data)
        more, cid = ChatState.has_older, ChatState.current_id
        return [js_var(f"useChatappScroller({load}, {more}, {oldest}, {cid})", None, load, more, oldest, cid)]


def _body(item: rx.Var[Item]) -> rx.Component:
    return rx.cond(
        item.deleted,
        rx.text(
            "Message deleted",
            size="2",
            color_scheme="gray",
            font_style="italic",
            class_name="message-deleted",
        ),
        rx.text(
            rx.foreach(
                item.parts,
                lambda p: rx.cond(
                    p.href != "",
                    rx.link(
                        p.text,
                        href=p.href,
                        is_external=True,
                        rel="noopener noreferrer",
                        _hover={"color": "var(--accent-12)"},  # Reflex's accent-8 was 2.8:1
                    ),
                    rx.text.span(p.text),
                ),
            ),
            rx.cond(
                item.edited,
                rx.tooltip(
                    rx.text.span(" (edited)", color="var(--gray-11)", font_size="12px", class_name="edited"),
                    content=item.edited_time,
                ),
            ),
            size="2",
            white_space="pre-wrap",
            overflow_wrap="anywhere",
            class_name="message-body",
        ),
    )


def _actions(item: rx.Var[Item]) -> rx.Component:
    return rx.cond(
        item.mine & ~item.deleted,
        rx.hstack(
            rx.icon_button(
                rx.icon("pencil", size=16),
                size="2",
                variant="ghost",
                aria_label="Edit message",
                on_click=ChatState.start_edit(item.id),
            ),
            rx.icon_button(
                rx.icon("trash-2", size=16),
                size="2",
                variant="ghost",
                color_scheme="red",
                aria_label="Delete message",
                on_click=ChatState.ask_delete(item.id),
            ),
            class_name="message-actions",
            # 32 px targets with room between them (WCAG 2.2 target size: 24 px; the 24 px
            # ghost buttons 4 px apart left 20 px).
            spacing="3",
        ),
    )


def _message(item: rx.Var[Item]) -> rx.Component:
    return rx.hstack(
        rx.cond(
            item.head,
            avatar_with_presence(item.author_name, item.author_id, size="2"),
            rx.tooltip(
                rx.text(item.time, class_name="side-time", size="1", color="var(--gray-11)"),
                content=item.full_time,
            ),
        ),
        rx.vstack(
            rx.cond(
                item.head,
                rx.hstack(
                    rx.text(rx.cond(item.mine, "You", item.author_name), weight="medium", size="2"),
                    custom_status(item.author_id),
                    rx.tooltip(
                        rx.text(item.time, size="1", color="var(--gray-11)", class_name="message-time"),
                        content=item.full_time,
                    ),
                    align="baseline",
                ),
            ),
            _body(item),
            rx.cond(
                item.seen != "",
                rx.tooltip(
                    rx.text(
                        item.seen,
                        size="1",
                        color="var(--gray-11)",
                        class_name="seen-receipt",
                        custom_attrs={"data-detail": item.seen_detail},
                    ),
                    content=item.seen_detail,
                ),
            ),
            spacing="1",
            min_width="0",
            flex="1",
        ),
        _actions(item),
        align="start",
        width="100%",
        class_name=rx.cond(item.mine, "message mine", "message"),
        custom_attrs={
            "data-message-id": item.id,
            "data-author-id": item.author_id,
            "data-author-name": item.author_name,
            "data-head": item.head,
        },
    )


def _item(item: rx.Var[Item]) -> rx.Component:
    return rx.box(
        rx.match(
            item.kind,
            ("day", rx.box(rx.text(item.text, size="1"), class_name="day-separator", role="separator")),
            (
                "unread",
                rx.box(
                    rx.text(item.text, size="1"),
                    class_name="unread-divider",
                    id="unread-divider",
                    role="separator",
                ),
            ),
            ("system", rx.text(item.text, size="1", class_name="system-line", color_scheme="gray")),
            _message(item),
        ),
        key=item.key,
        width="100%",
    )


def message_list() -> rx.Component:
    """The messages, oldest at the top, "Beginning of the conversation" above the first."""
    items = arranged()  # laid out in the browser (message_layout)
    return rx.box(
        rx.vstack(
            rx.cond(
                ChatState.has_older,
                rx.center(rx.spinner(size="2"), width="100%", class_name="loading-older"),
                rx.text(
                    "Beginning of the conversation",
                    size="1",
                    color_scheme="gray",
                    class_name="conversation-start",
                    align="center",
                    width="100%",
                ),
            ),
            rx.foreach(items, _item),
            rx.cond(
                items.length() == 0,
                rx.text("No messages yet. Say hello!", color_scheme="gray", size="2"),
            ),
            spacing="1",
            padding="16px",
            width="100%",
        ),
        LayoutScript.create(),
        MessageScripts.create(),
        flex="1",
        width="100%",
        overflow_y="auto",
        id="messages",
        class_name="messages",
    )
