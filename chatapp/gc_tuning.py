"""The garbage collector's thresholds for a server that holds every tab's state
(`rxconfig.py` applies them; the benchmark's floor server uses the same, so that the two
differ by what the app does, not by how Python stops to collect).

Each collection stops the event loop for as long as it walks its generation. With
Python's defaults (700, 10, 10) a full collection walked the whole heap every second or
so under load: 50-500 ms at 1,000 tabs. Young collections every 10,000 allocations
(10,000, 50, 100; 2026-12-04 to 12-08) made the middle and full ones rare, but each young
one then walked 25,000-100,000 objects (the loop's timers, futures and tasks of every
socket live long enough to be young at any moment): at 2,000 tabs about 100 young
collections a minute, a median of 7.3-7.9 ms, 31 of them over 10 ms and up to 73 ms.
Every 2,000 allocations, with the middle collection every 250 young ones (every 500,000
allocations, as before) and the full one as rarely as before: about 600 young collections
a minute of 1.1 ms median, 8 over 10 ms, the same collector time in all. The middle
collections, 165-285 ms at 2,000 tabs, now come two or three times a minute instead of
once: they are the tail of the latency now (docs/benchmarks.md, "Issue 16, 2026-12-08").
"""

from __future__ import annotations

THRESHOLDS = (2_000, 250, 100)
