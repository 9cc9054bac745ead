"""Tokens a server process has already looked up, kept until PostgreSQL says they may have changed.

Every API request authenticates, and the token lookup is a round trip to the database
(some 0.3 ms of a 1.5–3 ms request). A process keeps the rows it has read, per database
connection, and forgets all of them when anything that decides who a token belongs to
changes:

- triggers on the token, user, group and membership tables (migration
  ``0006_auth_change_notify``) send ``NOTIFY tunix_rt_auth_changed`` on commit, and the
  connection that filled the cache ``LISTEN``\\ s; before each use the process reads what
  has arrived on that connection's socket (no round trip), so a change made by any
  process, command, admin page or SQL session empties every process's cache;
- a change made in this process (Django's model signals) empties it at once;
- a new connection starts empty, and each entry lives at most ``TOKEN_CACHE_SECONDS``,
  a backstop should notifications stop arriving (``0`` turns the cache off; do so behind a
  pooler that does not keep ``LISTEN`` with its session, such as PgBouncer in transaction mode).

The cache is not used on SQLite or inside a transaction (where a change this
transaction has not committed would not have been announced).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any

import psycopg
from django.conf import settings
from django.db import connection

CHANNEL = "tunix_rt_auth_changed"
MOST_ENTRIES = 1024

_forgotten = 0  # bumped by ``token_cache_forget``; a cache filled before the bump is dropped
_local = threading.local()  # one cache per thread, bound to that thread's connection


def token_cache_forget(**signal_kwargs: Any) -> None:
    """Drops every cached token in this process (a model signal's receiver)."""
    global _forgotten
    _forgotten += 1


def _entries() -> tuple[OrderedDict[str, tuple[float, tuple[Any, ...]]] | None, bool]:
    """This thread's entries and whether they were kept as they were: emptied (``False``) when
    a change was announced since the last look or the connection is new; ``None`` when the
    cache must not be used."""
    seconds = settings.TOKEN_CACHE_SECONDS
    if seconds <= 0 or connection.vendor != "postgresql" or connection.in_atomic_block:
        return None, False
    connection.ensure_connection()
    raw = connection.connection
    state = _local.__dict__
    try:
        kept = state.get("connection") is raw
        if not kept:
            state.clear()
            # LISTEN before the first lookup: whatever commits after it is announced.
            with connection.cursor() as cursor:
                cursor.execute(f"LISTEN {CHANNEL}")
            state.update(connection=raw, forgotten=_forgotten, entries=OrderedDict())
        # Drains everything that has arrived (``any`` would stop at the first).
        announced = len(list(raw.notifies(timeout=0))) > 0
    except psycopg.Error:
        state.clear()
        return None, False
    entries: OrderedDict[str, tuple[float, tuple[Any, ...]]] = state["entries"]
    if announced or state["forgotten"] != _forgotten:
        entries.clear()
        state["forgotten"] = _forgotten
        kept = False
    return entries, kept


def token_cache_get(key: str) -> tuple[Any, ...] | None:
    """The row cached for ``key``, if it is still good."""
    entries, _ = _entries()
    if entries is None or (found := entries.get(key)) is None:
        return None
    if found[0] < time.monotonic():
        del entries[key]
        return None
    entries.move_to_end(key)
    return found[1]


def token_cache_put(key: str, row: tuple[Any, ...]) -> None:
    """Keeps the row just read for ``key``, unless a change was announced since the
    ``token_cache_get`` before it: the row might then predate that change."""
    entries, kept = _entries()
    if entries is None or not kept:
        return
    entries[key] = (time.monotonic() + settings.TOKEN_CACHE_SECONDS, row)
    entries.move_to_end(key)
    while len(entries) > MOST_ENTRIES:
        entries.popitem(last=False)
