"""Upkeep of PostgreSQL's near-duplicate GIN index, off the request that wrote the keys.

A GIN index with ``fastupdate`` (the default) takes new keys into a pending list, which is
cheap; when that list outgrows ``gin_pending_list_limit`` (4 MB) the insert that crossed the
limit merges the whole list into the index tree, and its request pays for every key other
requests added: on the bench, one batch import in ten took 0.7 s instead of 0.13 s. The merge
is PostgreSQL's own ``gin_clean_pending_list()``; here a daemon thread of each server process
calls it, on its own connection, once every ``EVERY_ROWS`` traces written (after each batch
import, after a thousand single creates). The request that wrote them has already answered;
the merge runs in another PostgreSQL backend (another core), and an insert that finds a merge
under way skips its own (PostgreSQL takes the list's lock conditionally). Nothing is deferred
that a reader could miss: keys in the pending list are found by every search, so this only
decides who does the merge, and when.

After the merge the same thread marks the traces just written as visible to everyone: a
``VACUUM`` of the trace table without index cleanup (``INDEX_CLEANUP OFF``), which only visits
pages not yet all-visible and took ~2 ms after a batch of 1,000. Until then an index-only scan
has to read the heap for each new row, and autovacuum's insert threshold (20 % of the table) can
leave tens of thousands of them so: a list page at offset 10,000 after 12,000 new traces took
10.1 ms, 5.7 ms once vacuumed. Dead rows and the indexes stay autovacuum's work.

SQLite has no GIN index; with ``TRACE_INDEX_UPKEEP`` off (the test settings) the merge stays
with PostgreSQL's own schedule (the crossing insert, or autovacuum).
"""

from __future__ import annotations

import functools
import logging
import threading
import time

from django.conf import settings
from django.db import DatabaseError, connections, transaction
from psycopg.errors import InsufficientPrivilege

from traces.models import Trace

logger = logging.getLogger(__name__)

GIN_INDEX = "trace_signature_bands_gin"
GATHER_SECONDS = 0.05
IDLE_CLOSE_SECONDS = 2.0
# Rows written between two upkeeps: a batch import asks after itself, single creates after a
# thousand of them (16,000 pending keys, as one batch leaves). An upkeep after every few single
# creates (a merge, a VACUUM and their commits) competed with the creates for the two cores.
EVERY_ROWS = 1_000


class PendingListUpkeep:
    """One daemon thread per process that merges the pending list whenever asked; asks made
    while a merge runs are folded into one more merge after it."""

    def __init__(self, index: str = GIN_INDEX, alias: str = "default", idle_close: float = IDLE_CLOSE_SECONDS) -> None:
        self.index, self.alias, self.idle_close = index, alias, idle_close
        self._wanted = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._start = threading.Lock()
        self._thread: threading.Thread | None = None
        self.merged_pages = 0
        self.refused = False
        self._written = 0

    def ask(self) -> None:
        """Asks for a merge soon (returns at once); nothing once the database refused one."""
        if self.refused:
            return
        with self._start:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="gin-upkeep", daemon=True)
                self._thread.start()
            self._idle.clear()
            self._wanted.set()

    def wrote(self, rows: int) -> None:
        """Counts rows written (committed); asks for an upkeep once ``EVERY_ROWS`` have been."""
        with self._start:
            self._written += rows
            due = self._written >= EVERY_ROWS
            if due:
                self._written = 0
        if due:
            self.ask()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """True once every merge asked for has run; its connection closes after ``idle_close`` seconds."""
        return self._idle.wait(timeout)

    def _run(self) -> None:
        while True:
            if not self._wanted.wait(self.idle_close):
                connections[self.alias].close()  # idle: give the connection back, then sleep until asked
                self._wanted.wait()
            time.sleep(GATHER_SECONDS)  # asks arriving meanwhile share this merge
            self._wanted.clear()
            try:
                self.merged_pages += self._merge()
            except DatabaseError as error:  # the index stays correct without the merge; say why
                connections[self.alias].close()
                if isinstance(error.__cause__, InsufficientPrivilege):
                    self.refused = True  # only the index's owner (or a superuser) may merge
                    logger.warning("Not merging %s's pending list in the background: %s", self.index, error)
                else:
                    logger.exception("Merging the pending list of %s failed", self.index)
            with self._start:
                if not self._wanted.is_set():
                    self._idle.set()

    def _merge(self) -> int:
        """Merges the pending list (its page count), then marks the new trace rows all-visible."""
        connection = connections[self.alias]
        with connection.cursor() as cursor:
            cursor.execute("SELECT gin_clean_pending_list(%s::regclass)", [self.index])
            pages = int(cursor.fetchone()[0])
            # Outside any transaction (the thread's connection is in autocommit), as VACUUM needs;
            # a user who does not own the table gets a warning from PostgreSQL and no vacuum.
            table = connection.ops.quote_name(Trace._meta.db_table)
            cursor.execute(f"VACUUM (SKIP_LOCKED, INDEX_CLEANUP OFF, PROCESS_TOAST OFF) {table}")
        return pages


upkeep = PendingListUpkeep()


def after_index_write(rows: int, alias: str = "default") -> None:
    """Called where ``rows`` traces' band keys were written: counts them once the transaction
    commits (``PendingListUpkeep.wrote``)."""
    if connections[alias].vendor == "postgresql" and settings.TRACE_INDEX_UPKEEP:
        transaction.on_commit(functools.partial(upkeep.wrote, rows), using=alias)
