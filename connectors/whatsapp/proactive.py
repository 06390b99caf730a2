"""Proactive messages (reminders, waitlist offers): queued in the inbox, run as Rasa external events.

Why the inbox: a message the bot sends first is a turn like a client's. It must run once, in order with
the client's own messages, under the same per-sender claim, lease and retry guards, and survive a crash
between "it is due" and "it went out". So whoever decides a message is due (the reminder scheduler, the
waitlist) inserts one inbox row inside its own transaction (`enqueue`), keyed `proactive:<key>`, so a
second enqueue of the same key is a no-op. The Rasa process's inbox worker claims it like any message
and runs Rasa's external-event path (`Agent.trigger_intent`, what `POST /conversations/<id>/trigger_intent`
does) with this channel's output: the message lands in the tracker, and the client's answer continues
the conversation. The key rides along as the `aviso` entity, so a retried attempt sees in the tracker
that the event already ran. `outcomes` tells the producer what became of each key.

A proactive row never moves `whatsapp_senders.last_inbound_at` (the client did not write) and is not
counted by the rate limit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

import sqlalchemy as sa
from rasa.shared.core.events import UserUttered
from sqlalchemy.engine import Connection, Engine

from connectors.whatsapp.inbox_notify import notify as notify_inbox
from connectors.whatsapp.tables import (
    DONE,
    FAILED,
    OPTED_OUT,
    PENDING,
    PROACTIVE_PREFIX,
    dialect_insert,
    inbox,
    outbound,
    utcnow,
)

KEY_ENTITY = "aviso"  # the entity that carries the key into the tracker
METADATA_KEY = "proactive"


@dataclass(frozen=True)
class ProactiveMessage:
    """One external event for one client: `intent` (in the domain) with `entities`, once per `key`."""

    sender_id: str
    key: str
    intent: str
    entities: Dict[str, Any] = field(default_factory=dict)

    @property
    def message_sid(self) -> str:
        return f"{PROACTIVE_PREFIX}{self.key}"


def enqueue(conn: Connection, message: ProactiveMessage, notify: bool = True) -> bool:
    """Queue `message` inside the caller's transaction; False when its key was queued before. On Postgres
    a new row also sends `NOTIFY whatsapp_inbox, '<sender>|<row id>'` in that transaction (`inbox_notify.py`),
    so a listening worker runs it at once instead of at its next poll, and knows no closing claim is needed
    when nothing else was named since."""
    payload = {METADATA_KEY: {"key": message.key, "intent": message.intent, "entities": message.entities}}
    values = dict(message_sid=message.message_sid, sender_id=message.sender_id, received_at=utcnow(),
                  body=f"/{message.intent}", metadata=json.dumps(payload, ensure_ascii=False),
                  public_base_url=None, status=PENDING, attempts=0)
    stmt = dialect_insert(conn.engine, inbox).values(**values).on_conflict_do_nothing(index_elements=["message_sid"])
    if conn.engine.dialect.name != "postgresql":  # no NOTIFY there (and no RETURNING in SQLAlchemy 1.4's SQLite)
        return conn.execute(stmt).rowcount == 1
    row_id = conn.execute(stmt.returning(inbox.c.id)).scalar()
    if row_id is not None and notify:
        notify_inbox(conn, message.sender_id, int(row_id))
    return row_id is not None


def request_of(sender_id: str, metadata: Dict[str, Any]) -> Optional[ProactiveMessage]:
    """The proactive message an inbox row carries, or None for a client's message."""
    spec = metadata.get(METADATA_KEY)
    if not isinstance(spec, dict) or not spec.get("intent") or not spec.get("key"):
        return None
    return ProactiveMessage(sender_id, str(spec["key"]), str(spec["intent"]), dict(spec.get("entities") or {}))


def already_triggered(events: Sequence[Any], key: str) -> bool:
    """True when the tracker holds the external event of `key` (an earlier attempt ran it)."""
    for event in reversed(events):
        if isinstance(event, UserUttered) and any(
                e.get("entity") == KEY_ENTITY and e.get("value") == key for e in event.entities or []):
            return True
    return False


class UnknownIntent(ValueError):
    """The producer asked for an intent the model's domain does not have (never retried)."""


async def trigger(agent: Any, message: ProactiveMessage, output: Any) -> bool:
    """Run the external event under the sender's lock, as Rasa's trigger_intent endpoint does; False
    when an earlier attempt already ran it."""
    if message.intent not in agent.domain.intents:
        raise UnknownIntent(f"intent {message.intent!r} is not in the domain")
    async with agent.lock_store.lock(message.sender_id):
        tracker = await agent.processor.fetch_tracker_and_update_session(message.sender_id, output)
        if already_triggered(tracker.events, message.key):
            return False
        entities = {**message.entities, KEY_ENTITY: message.key}
        await agent.trigger_intent(message.intent, entities, output, tracker)
    return True


@dataclass(frozen=True)
class SentMessage:
    twilio_sid: Optional[str]
    status: str
    error_code: Optional[int]
    error_message: Optional[str]


@dataclass(frozen=True)
class ProactiveOutcome:
    """What became of one key: `state` pending (not run yet), sent, skipped (`reason`) or failed."""

    key: str
    state: str
    reason: Optional[str] = None
    messages: List[SentMessage] = field(default_factory=list)

    @property
    def twilio_sid(self) -> Optional[str]:
        return next((m.twilio_sid for m in self.messages if m.twilio_sid), None)


def outcomes(engine: Engine, keys: Sequence[str]) -> Dict[str, ProactiveOutcome]:
    """The outcome of every key that was queued (two queries, whatever the number of keys)."""
    if not keys:
        return {}
    sids = [f"{PROACTIVE_PREFIX}{k}" for k in keys]
    with engine.connect() as conn:
        rows = conn.execute(sa.select(inbox.c.id, inbox.c.message_sid, inbox.c.status, inbox.c.last_error)
                            .where(inbox.c.message_sid.in_(sids))).all()
        by_inbox: Dict[int, List[SentMessage]] = {}
        if rows:
            for m in conn.execute(sa.select(outbound.c.inbox_id, outbound.c.twilio_sid, outbound.c.status,
                                            outbound.c.error_code, outbound.c.error_message)
                                  .where(outbound.c.inbox_id.in_([r.id for r in rows]))
                                  .order_by(outbound.c.id)):
                by_inbox.setdefault(m.inbox_id, []).append(
                    SentMessage(m.twilio_sid, m.status, m.error_code, m.error_message))
    found: Dict[str, ProactiveOutcome] = {}
    for row in rows:
        key = row.message_sid[len(PROACTIVE_PREFIX):]
        found[key] = _outcome(key, row.status, row.last_error, by_inbox.get(row.id, []))
    return found


def _outcome(key: str, status: str, last_error: Optional[str], messages: List[SentMessage]) -> ProactiveOutcome:
    if status not in (DONE, FAILED, OPTED_OUT):
        return ProactiveOutcome(key, "pending", messages=messages)
    if status == OPTED_OUT:
        return ProactiveOutcome(key, "skipped", "opted_out", messages)
    if status == FAILED:
        return ProactiveOutcome(key, "failed", last_error, messages)
    if any(m.twilio_sid for m in messages):
        return ProactiveOutcome(key, "sent", None, messages)
    reasons = [m.error_message or m.status for m in messages if m.status != "sending"]
    if any(m.status == "failed" for m in messages):
        return ProactiveOutcome(key, "failed", reasons[0] if reasons else "send failed", messages)
    return ProactiveOutcome(key, "skipped", reasons[0] if reasons else "no_message", messages)
