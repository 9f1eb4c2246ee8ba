"""chatapp: a chat web app in pure Python (Reflex) with real-time presence."""

from chatapp import sqlite as _sqlite  # noqa: F401  (connection settings for every engine)
