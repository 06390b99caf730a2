"""The tracker store's handoff hook: the `handoffs` row and the `helpdesk_outbox` follow the events saved.

Every instance saves every event through `WindowedSQLTrackerStore`, so this is the one place that sees
a handoff start and end whoever caused it (an action, the operator API, the helpdesk, the idle loop).
The writes join the save's transaction: events and rows commit together or not at all.

The cost is bounded because the tracker already knows its state: whether it was paused before the new
events is replayed from the events in memory, so a save that neither changes the state, nor adds a
message to a paused conversation, nor has a mirror to feed, issues no query at all; otherwise the
writes go in ONE statement on Postgres (data-modifying CTEs), in a few on SQLite (the embedded default).

How a handoff ends (`ended_by`): the `by` of the `ConversationResumed` metadata (operator, helpdesk,
idle_timeout...), else 'operator'; a `SessionStarted` or `Restarted` that unpauses the tracker without
a resume ends it with 'session_end' / 'restart'. `actions/session.py` re-pauses a new session of a
handed-off conversation (the team still has it): a pause right after such a reset continues the handoff
instead of starting another one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Dict, List, Mapping, Optional, Sequence

from rasa.shared.core.events import (
    BotUttered,
    ConversationPaused,
    ConversationResumed,
    Event,
    Restarted,
    SessionStarted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from rasa_project.conversation_log.redaction import redact_event
from rasa_project.handoff.tables import (
    BOT,
    HANDBACK,
    HANDOFF,
    HUMAN,
    MESSAGE_IN,
    MESSAGE_OUT,
    NOTIFY,
    handoffs,
    helpdesk_outbox,
)
from rasa_project.settings import Settings

HANDOFF_EVENT = "handoff_started"  # `metadata.event` of the bot message announcing a handoff (actions/handoff.py)
DEFAULT_REASON = "pedido_del_cliente"
LAST_TURNS = 6
RESET_ENDS = {SessionStarted: "session_end", Restarted: "restart"}


@dataclass
class SavedEvent:
    """One event of this save: the event, its redacted dict (what the log stores) and its row id."""

    event: Event
    data: Mapping[str, Any]
    event_id: Optional[int]


@dataclass
class Transitions:
    """What the new events did to the handoff: started (the pause), ended (by whom), touched."""

    started: List[int] = field(default_factory=list)  # indexes of the new events that start a handoff
    ended: List[tuple] = field(default_factory=list)  # (index, ended_by)
    paused_at_end: bool = False


def paused_after(events: Sequence[Event], paused: bool = False) -> bool:
    """The tracker's paused flag after `events` (the only events that touch it), starting from `paused`."""
    for event in events:
        if isinstance(event, ConversationPaused):
            paused = True
        elif isinstance(event, (ConversationResumed, SessionStarted, Restarted)):
            paused = False
    return paused


def transitions(was_paused: bool, new_events: Sequence[Event]) -> Transitions:
    """Replays the new events from `was_paused`: the handoff starts and ends they contain."""
    found = Transitions()
    paused, pending_end = was_paused, None
    for index, event in enumerate(new_events):
        if isinstance(event, ConversationPaused):
            if pending_end is not None:
                pending_end = None  # a new session of a handed-off conversation: the handoff goes on
            elif not paused:
                found.started.append(index)
            paused = True
        elif isinstance(event, ConversationResumed):
            if pending_end is not None:
                found.ended.append(pending_end)
                pending_end = None
            if paused:
                by = (event.metadata or {}).get("by") or "operator"
                found.ended.append((index, str(by)))
            paused = False
        elif type(event) in RESET_ENDS:
            if paused:
                pending_end = (index, RESET_ENDS[type(event)])
            paused = False
    if pending_end is not None:
        found.ended.append(pending_end)
    found.paused_at_end = paused
    return found


def _handoff_facts(saved: Sequence[SavedEvent], before: int) -> Dict[str, Any]:
    """The facts of the bot message announcing the handoff (`metadata.event == handoff_started`)."""
    for item in reversed(saved[:before]):
        if isinstance(item.event, BotUttered) and (item.event.metadata or {}).get("event") == HANDOFF_EVENT:
            return dict((item.event.metadata or {}).get("facts") or {})
    return {}


def last_turns(events: Sequence[Event], limit: int = LAST_TURNS) -> List[Dict[str, str]]:
    """The last `limit` user/bot texts, redacted like the log, oldest first: what the team reads first."""
    turns: List[Dict[str, str]] = []
    for event in reversed(events):
        if isinstance(event, (UserUttered, BotUttered)) and event.text:
            data = redact_event(event.as_dict())
            who = "client" if isinstance(event, UserUttered) else (
                "team" if (event.metadata or {}).get("helpdesk") else "bot")
            turns.append({"who": who, "text": str(data.get("text") or "")})
            if len(turns) >= limit:
                break
    return list(reversed(turns))


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _message_kind(item: SavedEvent) -> Optional[str]:
    event = item.event
    if isinstance(event, UserUttered) and event.text:
        return MESSAGE_IN
    if isinstance(event, BotUttered) and event.text and "helpdesk" not in (event.metadata or {}):
        return MESSAGE_OUT
    return None


def _is_activity(event: Event) -> bool:
    """A message of the client, or one the team wrote: both keep a handoff from going idle."""
    return isinstance(event, UserUttered) or (isinstance(event, BotUttered)
                                              and "helpdesk" in (event.metadata or {}))


def plan_writes(settings: Settings, tracker: DialogueStateTracker, saved: Sequence[SavedEvent],
                now: datetime, dialect: str) -> List[Any]:
    """The statements this save needs, in order (empty: nothing to write, no query)."""
    mirror, notify = bool(settings.chatwoot_base_url), bool(settings.handoff_notify_url)
    new_events = [item.event for item in saved]
    events = list(tracker.events)
    was_paused = paused_after(events[: len(events) - len(new_events)])
    found = transitions(was_paused, new_events)
    sender = tracker.sender_id
    statements: List[Any] = []
    outbox: List[Dict[str, Any]] = []

    def add(kind: str, payload: Mapping[str, Any]) -> None:
        outbox.append({"sender_id": sender, "kind": kind, "payload": _json(payload), "created_at": now,
                       "attempts": 0, "next_attempt_at": now})

    starts, ends = set(found.started), dict(found.ended)
    for index, item in enumerate(saved):
        kind = _message_kind(item) if mirror else None
        if kind is not None:
            add(kind, {"text": item.data.get("text"), "timestamp": item.event.timestamp, "event_id": item.event_id})
        if index in ends:
            statements.append(handoffs.update()
                              .where(handoffs.c.sender_id == sender, handoffs.c.state == HUMAN)
                              .values(state=BOT, ended_at=now, ended_by=ends[index]))
            if mirror:
                add(HANDBACK, {"by": ends[index]})
        if index in starts:
            facts = _handoff_facts(saved, index)
            reason = str(facts.get("reason") or DEFAULT_REASON)
            statements.append(_upsert_started(dialect, sender, reason, now))
            turns = last_turns(events)
            if mirror:
                add(HANDOFF, {"reason": reason, "last_turns": turns, "in_hours": facts.get("in_hours"),
                              "next_open": facts.get("next_open")})
            if notify:
                add(NOTIFY, {"client": sender, "name": _slot(tracker, "nombre_cliente"), "reason": reason,
                             "last_turns": turns, "since": now.isoformat() + "Z"})
    if found.paused_at_end and not starts and not ends and any(_is_activity(e) for e in new_events):
        statements.append(handoffs.update()
                          .where(handoffs.c.sender_id == sender, handoffs.c.state == HUMAN)
                          .values(last_message_at=now))
    if outbox:
        statements.append(helpdesk_outbox.insert().values(outbox))
    return statements


def _slot(tracker: DialogueStateTracker, name: str) -> Optional[Any]:
    slot = tracker.slots.get(name)
    return slot.value if slot is not None else None


def _upsert_started(dialect: str, sender: str, reason: str, now: datetime) -> Any:
    values = {"sender_id": sender, "state": HUMAN, "reason": reason, "started_at": now, "last_message_at": now,
              "ended_at": None, "ended_by": None}
    dialect_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    insert = dialect_insert(handoffs).values(**values)
    return insert.on_conflict_do_update(
        index_elements=[handoffs.c.sender_id],
        set_={k: insert.excluded[k] for k in values if k != "sender_id"},
    )


def execute_writes(conn: Connection, statements: Sequence[Any]) -> None:
    """One round trip on Postgres: every statement but the last becomes a data-modifying CTE of the last.

    Postgres runs the CTEs on one snapshot, so two statements on the same `handoffs` row (a start and an
    end in one save, which never happens in a normal turn) go one after the other instead."""
    if not statements:
        return
    touches_handoffs = sum(1 for s in statements if s.table is handoffs)
    if conn.dialect.name != "postgresql" or len(statements) == 1 or touches_handoffs > 1:
        for statement in statements:
            conn.execute(statement)
        return
    *ctes, last = statements
    combined = last
    for number, statement in enumerate(ctes):
        combined = combined.add_cte(statement.cte(f"handoff_write_{number}"))
    conn.execute(combined)
