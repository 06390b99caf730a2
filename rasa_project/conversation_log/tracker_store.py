"""Rasa's SQL tracker store with a bounded retrieve window, redaction, migrations and fail-fast start-up.

Named in `endpoints.yml` as::

    tracker_store:
      type: rasa_project.conversation_log.tracker_store.WindowedSQLTrackerStore

Differences from `rasa.core.tracker_store.SQLTrackerStore` (see rasa-pitfalls.md, "Tracker store"):
- the URL and pool come from settings (`tracker_db_url`, ...), with pre-ping and recycle (rasa#8515);
- an unreachable server or a missing database raises `DatabaseUnavailable` at start-up instead of
  retrying forever with `sleep(5)` or landing in another database (rasa#8267); migrations run then;
- `retrieve` returns the last `tracker_window_events` (up to twice that) events of the session after
  synthetic events restoring the slots and active loop (see `window.py`), so turn cost stays flat;
  `retrieve_full_tracker` still returns every event;
- `save` appends exactly the events the tracker gained since it was retrieved, in id order,
  with user/bot text, entities and slot values redacted (`redaction.py`);
- all database work runs in a thread, never blocking the event loop;
- on Postgres a retrieve is ONE statement and a plain save (no handoff writes, the window not moving) is ONE
  statement, both on the autocommit engine (`database.autocommit_engine`): one round trip each; the save
  completing a turn also runs the channel's write for it (`save_along.py`: the inbox row marked done);
- in the same transaction, the human-handoff state and the helpdesk outbox follow the events saved
  (`rasa_project/handoff/state.py`: no query when there is nothing to write); the paused flag is part
  of the window snapshot, so a long handoff stays paused when the window moves past its pause.

Rasa wraps every store in `FailSafeTrackerStore`, which hides failures (retrieve -> None, i.e. the
conversation silently restarts; save -> an in-memory store, i.e. the turn is lost from the log).
Call `unwrap_fail_safe(agent)` after loading the agent so errors reach the caller (the WhatsApp channel
keeps the inbound message in its durable inbox and retries the turn).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Iterable, List, Optional, Sequence

import sqlalchemy as sa
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import FailSafeTrackerStore, SQLTrackerStore, TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ConversationPaused, Event, SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker

from rasa_project.conversation_log import window as win
from rasa_project.conversation_log.database import autocommit_engine, shared_engine
from rasa_project.conversation_log.log_redaction import install_log_redaction
from rasa_project.conversation_log.redaction import redact_event
from rasa_project.conversation_log.save_along import due_with
from rasa_project.handoff.state import SavedEvent, execute_writes, plan_writes
from rasa_project.handoff.tables import utcnow
from rasa_project.settings import Settings, get_settings

logger = logging.getLogger(__name__)

SNAPSHOTS = sa.table(
    "tracker_snapshots",
    sa.column("sender_id"),
    sa.column("event_id"),
    sa.column("timestamp"),
    sa.column("state"),
)

# The session's window in one statement: the snapshot row (if it is inside the session) first, then the events
# after it (or after the session start).
_WINDOW = sa.text("""
WITH ss AS (
  SELECT COALESCE(max(id) - 1, 0) AS after FROM events WHERE sender_id = :sender_id AND type_name = :session_started),
snap AS (
  SELECT t.event_id, t.timestamp, t.state FROM tracker_snapshots AS t, ss
  WHERE t.sender_id = :sender_id AND t.event_id >= ss.after + 1 LIMIT 1),
start AS (SELECT COALESCE((SELECT event_id FROM snap), (SELECT after FROM ss)) AS after)
SELECT NULL AS id, NULL AS data, snap.event_id AS snap_event_id, snap.timestamp AS snap_timestamp,
       snap.state AS snap_state FROM snap
UNION ALL
SELECT e.id, e.data, NULL, NULL, NULL FROM events AS e, start WHERE e.sender_id = :sender_id AND e.id > start.after
ORDER BY id NULLS FIRST
""")


class WindowedSQLTrackerStore(SQLTrackerStore):
    """SQL tracker store whose `retrieve` cost does not grow with the session (module docstring)."""

    def __init__(
        self,
        domain: Optional[Domain] = None,
        host: Optional[str] = None,
        event_broker: Optional[EventBroker] = None,
        settings: Optional[Settings] = None,
        db_url: Optional[str] = None,
        **kwargs: Any,
    ) -> None:
        # SQLTrackerStore.__init__ is skipped on purpose: it retries a failed connection forever.
        self.settings = settings or get_settings()
        url = db_url or self.settings.tracker_db_url
        self.window_events = max(1, int(kwargs.pop("window_events", self.settings.tracker_window_events)))
        install_log_redaction()
        self.engine = shared_engine(url, self.settings)
        self.is_postgres = self.engine.dialect.name == "postgresql"
        self.sessionmaker = sa.orm.sessionmaker(bind=self.engine, future=True)
        TrackerStore.__init__(self, domain, event_broker)
        logger.debug("Conversation log at %s", self.engine.url.render_as_string(hide_password=True))

    @property
    def autocommit(self) -> sa.engine.Engine:
        """`engine`'s autocommit sibling (single statements: one round trip each)."""
        return autocommit_engine(self.engine)

    # -- reading ---------------------------------------------------------------------------------

    async def keys(self) -> Iterable[str]:
        return await asyncio.to_thread(self._keys_sync)

    def _keys_sync(self) -> List[str]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(self.SQLEvent.sender_id).distinct())
            return [row[0] for row in rows]

    async def retrieve(self, sender_id: str) -> Optional[DialogueStateTracker]:
        """The current session's last events (bounded), after events restoring the state before them."""
        return await asyncio.to_thread(self._retrieve_window_sync, sender_id)

    async def retrieve_full_tracker(self, conversation_id: str) -> Optional[DialogueStateTracker]:
        """Every event of every session, in id order."""
        return await asyncio.to_thread(self._retrieve_full_sync, conversation_id)

    async def exists(self, conversation_id: str) -> bool:
        def _exists() -> bool:
            with self.engine.connect() as conn:
                query = sa.select(self.SQLEvent.id).where(self.SQLEvent.sender_id == conversation_id).limit(1)
                return conn.execute(query).first() is not None

        return await asyncio.to_thread(_exists)

    def _rows(self, conn: sa.engine.Connection, sender_id: str, after_id: int) -> Sequence[Any]:
        query = (
            sa.select(self.SQLEvent.id, self.SQLEvent.data)
            .where(self.SQLEvent.sender_id == sender_id, self.SQLEvent.id > after_id)
            .order_by(self.SQLEvent.id)
        )
        return conn.execute(query).all()

    def _retrieve_window_sync(self, sender_id: str) -> Optional[DialogueStateTracker]:
        if self.is_postgres:
            return self._retrieve_window_postgres(sender_id)
        with self.engine.connect() as conn:
            session_start = conn.execute(
                sa.select(sa.func.max(self.SQLEvent.id)).where(
                    self.SQLEvent.sender_id == sender_id,
                    self.SQLEvent.type_name == SessionStarted.type_name,
                )
            ).scalar()
            after_id = (session_start - 1) if session_start else 0
            snapshot = conn.execute(
                sa.select(SNAPSHOTS.c.event_id, SNAPSHOTS.c.timestamp, SNAPSHOTS.c.state).where(
                    SNAPSHOTS.c.sender_id == sender_id
                )
            ).first()
            prefix: List[Event] = []
            if snapshot is not None and snapshot.event_id >= after_id + 1:
                after_id = snapshot.event_id
                state = json.loads(snapshot.state)
                prefix = win.prefix_events(state, snapshot.timestamp, self.domain.slots)
                if state.get("paused"):  # handed off before the window start: still silent
                    prefix.append(ConversationPaused(timestamp=snapshot.timestamp))
            rows = self._rows(conn, sender_id, after_id)
        if not rows:
            return None
        return self._build(sender_id, prefix, rows)

    def _retrieve_window_postgres(self, sender_id: str) -> Optional[DialogueStateTracker]:
        with self.autocommit.connect() as conn:
            found = conn.execute(_WINDOW, {"sender_id": sender_id,
                                           "session_started": SessionStarted.type_name}).all()
        prefix: List[Event] = []
        if found and found[0].id is None:
            snapshot, found = found[0], found[1:]
            state = json.loads(snapshot.snap_state)
            prefix = win.prefix_events(state, snapshot.snap_timestamp, self.domain.slots)
            if state.get("paused"):  # handed off before the window start: still silent
                prefix.append(ConversationPaused(timestamp=snapshot.snap_timestamp))
        if not found:
            return None
        return self._build(sender_id, prefix, found)

    def _retrieve_full_sync(self, sender_id: str) -> Optional[DialogueStateTracker]:
        with self.engine.connect() as conn:
            rows = self._rows(conn, sender_id, 0)
        return self._build(sender_id, [], rows) if rows else None

    def _build(self, sender_id: str, prefix: List[Event], rows: Sequence[Any]) -> DialogueStateTracker:
        loaded = [Event.from_parameters(json.loads(row.data)) for row in rows]
        tracker = DialogueStateTracker.from_events(
            sender_id, prefix + [e for e in loaded if e is not None], self.domain.slots
        )
        ids: List[Optional[int]] = [None] * len(prefix) + [row.id for row in rows]
        win.attach(tracker, win.LoadedWindow(sender_id, len(prefix), ids))
        return tracker

    # -- writing ---------------------------------------------------------------------------------

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Append the events `tracker` gained since it was retrieved (or created), redacted."""
        new_events = await asyncio.to_thread(self._save_sync, tracker)
        if self.event_broker is not None:
            await self._stream_new_events(self.event_broker, new_events, tracker.sender_id)

    async def stream_events(self, tracker: DialogueStateTracker) -> None:
        """Streaming happens in `save`, from the exact events appended (no diff against a window)."""

    def _save_sync(self, tracker: DialogueStateTracker) -> List[Event]:
        events = list(tracker.events)
        loaded = win.attached(tracker)
        if loaded is not None and self.is_postgres:
            new_events = events[loaded.persisted :]
            redacted = [redact_event(event.as_dict()) for event in new_events]
            if self._plain_save(tracker, events, loaded, new_events, redacted):
                logger.debug("Stored %d new events of %s", len(new_events), tracker.sender_id)
                return new_events
        with self.sessionmaker() as session:
            if loaded is None:
                loaded = win.LoadedWindow(tracker.sender_id, 0, [None] * self._stored_in_session(session, tracker))
            new_events = events[loaded.persisted :]
            redacted = [redact_event(event.as_dict()) for event in new_events]
            rows = [self._row(tracker.sender_id, event, data) for event, data in zip(new_events, redacted, strict=True)]
            session.add_all(rows)
            session.flush()
            loaded.event_ids.extend(row.id for row in rows)
            saved = [SavedEvent(e, d, row.id) for e, d, row in zip(new_events, redacted, rows, strict=True)]
            writes = plan_writes(self.settings, tracker, saved, utcnow(), self.engine.dialect.name)
            if writes:
                execute_writes(session.connection(), writes)
            self._move_window(session, tracker, events, loaded)
            along = due_with(new_events)
            if along is not None:
                matched = session.execute(along.statement()).rowcount == 1
            session.commit()
            if along is not None:
                along.applied = matched
        win.attach(tracker, loaded)
        logger.debug("Stored %d new events of %s", len(new_events), tracker.sender_id)
        return new_events

    def _plain_save(self, tracker: DialogueStateTracker, events: List[Event], loaded: win.LoadedWindow,
                    new_events: List[Event], redacted: List[dict]) -> bool:
        """The common save as ONE statement (autocommit): the new events appended, nothing else to write.
        False (nothing written) when the handoff hook has writes or the window moves: the transaction path."""
        saved = [SavedEvent(e, d, None) for e, d in zip(new_events, redacted, strict=True)]
        if plan_writes(self.settings, tracker, saved, utcnow(), self.engine.dialect.name):
            return False
        if win.choose_boundary(events, loaded.prefix_len, self.window_events) is not None:
            return False
        if new_events:
            table = self.SQLEvent.__table__
            values = [self._values(tracker.sender_id, event, data)
                      for event, data in zip(new_events, redacted, strict=True)]
            insert = table.insert().values(values)
            along = due_with(new_events)
            if along is None:
                insert = insert.returning(table.c.id)
            else:  # the channel's write in the same statement: one CTE
                done = along.statement().returning(sa.literal_column("1")).cte("along")
                insert = insert.add_cte(done).returning(
                    table.c.id, sa.select(sa.func.count()).select_from(done).scalar_subquery())
            with self.autocommit.connect() as conn:
                rows = conn.execute(insert).all()
            loaded.event_ids.extend(sorted(row[0] for row in rows))
            if along is not None:
                along.applied = bool(rows) and rows[0][1] == 1
        win.attach(tracker, loaded)
        return True

    def _row(self, sender_id: str, event: Event, data: dict) -> Any:
        return self.SQLEvent(**self._values(sender_id, event, data))

    @staticmethod
    def _values(sender_id: str, event: Event, data: dict) -> dict:
        intent = (data.get("parse_data") or {}).get("intent", {}).get("name")
        return dict(
            sender_id=sender_id,
            type_name=event.type_name,
            timestamp=data.get("timestamp"),
            intent_name=intent,
            action_name=data.get("name"),
            data=json.dumps(data),
        )

    def _stored_in_session(self, session: Any, tracker: DialogueStateTracker) -> int:
        """For trackers we did not load: how many of their events the database already has (stock rule)."""
        session_start = session.execute(
            sa.select(sa.func.max(self.SQLEvent.id)).where(
                self.SQLEvent.sender_id == tracker.sender_id,
                self.SQLEvent.type_name == SessionStarted.type_name,
            )
        ).scalar()
        count = session.execute(
            sa.select(sa.func.count(self.SQLEvent.id)).where(
                self.SQLEvent.sender_id == tracker.sender_id, self.SQLEvent.id >= (session_start or 0)
            )
        ).scalar()
        return min(int(count or 0), len(tracker.events))

    def _move_window(
        self, session: Any, tracker: DialogueStateTracker, events: List[Event], loaded: win.LoadedWindow
    ) -> None:
        boundary = win.choose_boundary(events, loaded.prefix_len, self.window_events)
        if boundary is None or loaded.event_ids[boundary - 1] is None:
            return
        before = DialogueStateTracker.from_events(tracker.sender_id, events[:boundary], self.domain.slots)
        state = win.snapshot_state(before)
        if before.is_paused():
            state["paused"] = True
        values = {
            "event_id": loaded.event_ids[boundary - 1],
            "timestamp": events[boundary - 1].timestamp,
            "state": json.dumps(state),
        }
        updated = session.execute(SNAPSHOTS.update().where(SNAPSHOTS.c.sender_id == tracker.sender_id).values(**values))
        if not updated.rowcount:
            session.execute(SNAPSHOTS.insert().values(sender_id=tracker.sender_id, **values))


def unwrap_fail_safe(agent: Any) -> None:
    """Let tracker-store errors propagate instead of Rasa's silent fallbacks.

    `rasa.core.agent.Agent` wraps its store in `FailSafeTrackerStore`: a failed `retrieve` returns
    None (the conversation restarts without a word) and a failed `save` writes to an in-memory store
    (the turn never reaches the log). After this call both `agent.tracker_store` and
    `agent.processor.tracker_store` are the inner store, so `agent.handle_message` raises and the
    WhatsApp channel keeps the message in its inbox, counts the failure and retries the turn.
    Call it after the agent (and its processor) is loaded; calling it twice is harmless.
    """
    store = agent.tracker_store
    while isinstance(store, FailSafeTrackerStore):
        store = store._tracker_store
    agent.tracker_store = store
    processor = getattr(agent, "processor", None)
    if processor is not None:
        processor.tracker_store = store
