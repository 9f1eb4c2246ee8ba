"""Real-time presence: who is online, away or offline, and when they were last seen.

Layers, each in its own module:
- `logic`: the pure rules (aggregation, grace, wire data), taking `now` as an argument.
- `registry`: which tabs each user has open, in this process.
- `store`: the persisted facts (last seen).
- `fanout`: delivering a change to the open tabs of the users who may see it.
- `service`: `PresenceService`, which ties them together.
- `tracker`: the background task that owns the service, its timers and the disconnect hook.
"""
