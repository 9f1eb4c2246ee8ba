"""The login flood benchmark (`python -m bench.login_flood`): other users' message delivery
while an attacker floods the log-in form with wrong passwords.

- `probe`: A's and B's tabs, chatting at a steady pace; delivery and echo times.
- `attacker`: the flood, in a process of its own, and what the server answered.
- `run`: one condition (no flood, or a flood at a rate): a fresh app, the probe, the attacker.
- `report`: the results page, docs/login-flood.md.
"""
