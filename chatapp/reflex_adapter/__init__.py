"""The seam between chatapp and Reflex's internals: the only package that touches them.

Everything else uses Reflex's public API (`import reflex as rx`) or this package. What is
in here is what Reflex offers no public way to do:

- `sockets`: tells when a tab's socket opens or closes, caps sockets per client address,
  lets a closed tab's state go early. Uses the event namespace's `on_connect` and
  `on_disconnect`, `sid_to_token`, `_build_static_router_data`; the memory state
  manager's `_token_expires_at`, `_expiration_task`, `_ensure_expiration_task`.
- `tabs`: changes the state of a set of tabs and sends each its delta. Public
  `modify_state`; for the fast path `StateManagerMemory.states` and `_states_locks`, the
  token manager's `token_to_socket` and `instance_id`, `get_substate`, `StateUpdate`,
  `SocketEvent`.
- `keyed_dict`: a dict var whose entries travel as one-key deltas, and its JS accessor.
  `get_delta` and `dict` (overridable by design), `FIELD_MARKER`, `get_value`.
- `js`: Vars from JS expressions, event callbacks for custom hooks. `Var(_js_expr=…,
  _var_data=…)`, `_get_all_var_data`, `VarData`, `EventChain`.
- `socket_route`: a tab's websocket straight to the socket server, past the HTTP
  middleware. `App._api` (the socket server's mount).
- `internals`: the list of every internal above, checked at startup and by
  tests/contract/.

When Reflex changes, tests/contract/ fails naming the attribute or signature that
changed, and `internals.check_at_startup` either switches to the public path
(`modify_state`) or refuses to start with a message saying what is missing; never the
unsafe direction (changing a tab's state while a handler holds it).
"""
