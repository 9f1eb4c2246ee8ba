"""How long the garbage collector stops the app's processes: a probe that logs every
collection, and a summary of its logs (`python -m bench.gc_pauses DIR`)."""
