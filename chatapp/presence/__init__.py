"""Real-time presence: who is online, away, in do not disturb or offline, and when they
were last seen.

Layers, each in its own module:
- `logic`: the pure rules (aggregation, grace, wire data), taking `now` as an argument.
- `shared`: what a registry holds per user (tabs, published status, choices) and does.
- `registry`: the registry of one process (`InProcessRegistry` over `LocalRegistry`).
- `redis_registry`, `redis_scripts`: the registry shared by every instance, in Redis.
- `store`: the persisted facts (last seen, choices); `preferences`: the choices.
- `views`: what watchers see of a user.
- `service`: `PresenceService`, the one place that decides; it hands each change to a
  `deliver` callback (the push API, `chatapp.delivery`, wired in `chatapp.wiring`);
  `timers`: its timers.
- `sweeper`: with Redis, each instance's heartbeat and its sweep for dead instances.
- `cleanup`: one garbage collection after many tabs closed.

Nothing here imports Reflex (an import-linter contract).
"""
