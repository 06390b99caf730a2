"""Helpers of the handoff tests: a real tracker store, the turns Rasa saves, and what the tables hold."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional

import sqlalchemy as sa
from rasa.shared.core.events import ConversationPaused, ConversationResumed, Event

from rasa_project.conversation_log.tracker_store import WindowedSQLTrackerStore
from rasa_project.settings import Settings
from tests.conversation_log.support import act, bot, domain, session_start, ts, user

PHONE = "+5215512345678"


def make_store(url: str, **settings: Any) -> WindowedSQLTrackerStore:
    return WindowedSQLTrackerStore(domain=domain(), settings=Settings(tracker_db_url=url, **settings), db_url=url)


async def save_turn(store: WindowedSQLTrackerStore, events: List[Event], sender: str = PHONE) -> Any:
    """What Rasa does per turn: retrieve (or create with a session start), append, save."""
    tracker = await store.retrieve(sender)
    if tracker is None:
        tracker = store.init_tracker(sender)
        for event in session_start():
            tracker.update(event)
    for event in events:
        tracker.update(event)
    await store.save(tracker)
    return tracker


def handoff_turn(reason: str = "pedido_del_cliente", text: str = "quiero hablar con una persona") -> List[Event]:
    facts = {"reason": reason, "in_hours": True, "next_open": "2024-12-02T09:00:00-06:00"}
    return [user("hablar_con_humano", text), act("action_pasar_a_humano"),
            bot("Te paso con una persona del equipo", {"event": "handoff_started", "facts": facts}),
            ConversationPaused(timestamp=ts()), act("action_listen")]


def paused_message(text: str) -> List[Event]:
    """A message while paused: Rasa logs it and predicts nothing."""
    return [user("informar", text)]


def resume(by: Optional[str] = "operator") -> List[Event]:
    return [ConversationResumed(timestamp=ts(), metadata={"by": by} if by else None)]


def handoff_row(url: str, sender: str = PHONE) -> Optional[Dict[str, Any]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            row = conn.execute(sa.text("SELECT * FROM handoffs WHERE sender_id = :s"), {"s": sender}).mappings().first()
            return dict(row) if row else None
    finally:
        engine.dispose()


def outbox(url: str, kind: Optional[str] = None) -> List[Dict[str, Any]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT * FROM helpdesk_outbox ORDER BY id")).mappings().all()
        found = [dict(row) | {"payload": json.loads(row["payload"])} for row in rows]
        return [row for row in found if kind is None or row["kind"] == kind]
    finally:
        engine.dispose()
