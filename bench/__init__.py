"""Benchmarks of chatapp's presence, and the raw Reflex client they (and tests) use."""
