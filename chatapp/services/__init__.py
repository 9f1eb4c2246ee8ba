"""Persistence and rules of the chat: plain functions over a SQLModel session.

Every function takes the acting user's id from its caller, which takes it from the
authenticated session; none trusts an id sent by a browser.
"""
