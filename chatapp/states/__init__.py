"""Reflex states: what each browser tab holds on the server."""
