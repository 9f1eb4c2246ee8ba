"""chatapp: the table of contents. Pages, their routes and loaders, and what runs with them."""

import reflex as rx

from chatapp import log_redaction, routes, wiring
from chatapp.components.connection import connection_banner
from chatapp.pages.auth import login_page, signup_page
from chatapp.pages.chat import conversation_page, home_page
from chatapp.reflex_adapter import overlay, socket_route
from chatapp.states.auth import AuthFormState
from chatapp.states.chat_state import ChatState

# Before the app exists: no log line of this process may carry a token or a payload.
log_redaction.install()

# `rx.App` whose tabs' websockets go straight to the socket server (less memory per tab:
# see the module).
app = socket_route.App(stylesheets=["/chatapp.css"])
# A lost connection is said in one line of ours, on every page (not Reflex's toast).
overlay.replace(app, connection_banner)

app.add_page(
    login_page, route=routes.LOGIN, title="Log in · chatapp", on_load=AuthFormState.redirect_if_signed_in
)
app.add_page(
    signup_page, route=routes.SIGNUP, title="Sign up · chatapp", on_load=AuthFormState.redirect_if_signed_in
)
app.add_page(home_page, route=routes.HOME, title="Conversations · chatapp", on_load=ChatState.load_home)
app.add_page(
    conversation_page,
    route=routes.CONVERSATION,
    # The open conversation's name first (WCAG 2.4.2: the title says where the user is).
    title=rx.cond(ChatState.current_title != "", ChatState.current_title + " · chatapp", "chatapp"),
    on_load=ChatState.load_conversation,
)

# The presence service, the push API and the rate limits, while the server runs.
wiring.install(app)
