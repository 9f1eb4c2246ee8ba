"""The presence load benchmark: simulated tabs against the app and against the floor.

Modules, one concept each:
- `config`: every knob of a run (`LoadConfig`).
- `graph`: the users, their tabs and conversations (`ContactGraph`), built from a seed.
- `plan`: the presence changes to drive and who must receive each (`Change`).
- `seed`: the graph written into the app's database, and into the floor's JSON.
- `tabs`: one simulated tab for either server, recording what it receives.
- `worker`: a client process holding many tabs, driven by commands.
- `pool`: the benchmark's side of the client processes.
- `run`: one run against one server at one size, phase by phase.
- `analysis`: latencies, bytes and correctness from what the tabs recorded.
- `receivers`: timing the app's receivers query for a user in many conversations.
- `profiling`: py-spy profiles of the server during chosen phases.
- `suite`: every size against every server.
- `targets`, `report`, `plot`: the issue's targets, the results page and its plot.

Run it with `python -m bench.load` (see `--help`).
"""
