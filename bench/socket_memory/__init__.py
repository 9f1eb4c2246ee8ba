"""The socket memory benchmark: does the server give memory back once the tabs are closed?

Modules, one concept each:
- `seed`: the users, their direct chats and logins, written into the app's database.
- `clients`: client processes holding the simulated tabs, opened and closed in waves.
- `probe`: the server worker's memory, from outside (psutil) and from inside
  (`probe_site/sitecustomize.py`, a read-only probe the benchmark puts into the app's
  processes through PYTHONPATH: tab states, sockets, allocator figures).
- `run`: one condition (one tab-state TTL): a fresh app, two waves, samples over time.
- `report`: the results page (`docs/socket-memory.md`).

Run it with `python -m bench.socket_memory` (see `--help`).
"""
