"""What leaving a line costs: `asyncio.Semaphore` against `chatapp.line.Line`
(docs/instances.md, "The lines' waiters leave at no cost")."""
