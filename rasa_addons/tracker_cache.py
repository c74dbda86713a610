"""SQL tracker store that keeps each conversation's tracker in memory between messages.

Rasa's ``SQLTrackerStore`` reads a conversation's whole session back for every message,
decodes every event from JSON and replays it into a new tracker: the cost grows with the
conversation and was the largest part of the Rasa process's CPU time under ``make load``
(docs/performance.md). This store keeps the tracker it last saved for a conversation and
hands it back on the next message, after checking with one indexed query that the database
still ends at the same event. Anything else (another Rasa instance wrote to the
conversation, ``bot purge`` deleted it, a message failed half-way) makes the ids or event
counts differ, and the tracker is read from the database as before. The database stays the
only source of truth; the cache only saves re-reading what this process has just written.

On SQLite it also keeps one connection per thread instead of opening one per query.

Configure it in ``endpoints.yml`` with ``type: rasa_addons.tracker_cache.CachedSQLTrackerStore``
and the usual ``SQL`` settings, plus ``cache_size`` (conversations kept; default 1000).
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from typing import Any, Iterator, Optional, Text, Tuple

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker


_STORED = "_policy_assistant_stored_events"   # events of a handed-out tracker already in the database


class CachedSQLTrackerStore(SQLTrackerStore):
    """``SQLTrackerStore`` plus a per-process cache of the latest saved tracker per conversation."""

    def __init__(self, *args: Any, cache_size: int = 1000, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cache_size = max(0, int(cache_size))
        self._last_id_sql = sa.text(f"SELECT max(id) FROM {self.SQLEvent.__tablename__} WHERE sender_id = :sender")
        if self.engine.dialect.name == "sqlite":
            # SQLAlchemy 1.4 opens a new SQLite connection for every session (NullPool): keep
            # one per thread instead (Rasa uses the store from its event-loop thread)
            self.engine.dispose()
            self.engine = sa.create_engine(self.engine.url, poolclass=sa.pool.SingletonThreadPool)
            self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
        # sender id -> (id of the last stored event, number of tracker events then, tracker)
        self._cache: "OrderedDict[Text, Tuple[int, int, DialogueStateTracker]]" = OrderedDict()

    def _last_event_id(self, sender_id: Text) -> Optional[int]:
        # plain SQL: building the ORM query cost more than running it (SQLAlchemy's cache keys)
        with self.engine.connect() as conn:
            return conn.execute(self._last_id_sql, {"sender": sender_id}).scalar()

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        """The conversation's current session: from memory if the database has nothing newer.

        The cached tracker is handed over, not copied (a copy would replay every event): it
        leaves the cache until it is saved again, so nobody else can see it half-updated.
        """
        hit = self._cache.pop(sender_id, None)
        if hit is not None:
            last_id, count, tracker = hit
            if last_id == self._last_event_id(sender_id) and len(tracker.events) == count:
                setattr(tracker, _STORED, count)
                return tracker
        tracker = await super().retrieve(sender_id)
        if tracker is not None:
            setattr(tracker, _STORED, len(tracker.events))
        return tracker

    def _additional_events(self, session: Any, tracker: DialogueStateTracker) -> Iterator:
        """The events not stored yet. Rasa counts the session's stored events with a query
        that scans the conversation; a tracker this store handed out knows the count."""
        stored = getattr(tracker, _STORED, None)
        if stored is None or stored > len(tracker.events):
            return super()._additional_events(session, tracker)
        return itertools.islice(tracker.events, stored, len(tracker.events))

    async def save(self, tracker: DialogueStateTracker) -> None:
        before = getattr(tracker, _STORED, None) or 0
        await super().save(tracker)
        setattr(tracker, _STORED, len(tracker.events))
        # a new session began in this tracker: the database now starts the conversation there,
        # so the next message reads it back as Rasa would (without the old session's events)
        new_session = any(isinstance(e, SessionStarted)
                          for e in itertools.islice(tracker.events, max(1, before), len(tracker.events)))
        if not self.cache_size or new_session:
            self._cache.pop(tracker.sender_id, None)
            return
        last_id = self._last_event_id(tracker.sender_id)
        if last_id is None:
            self._cache.pop(tracker.sender_id, None)
            return
        self._cache[tracker.sender_id] = (last_id, len(tracker.events), tracker)
        self._cache.move_to_end(tracker.sender_id)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
