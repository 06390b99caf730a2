"""Helpers of the waitlist tests: a slot some hours ahead, the clients, and what the inbox holds."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List

import sqlalchemy as sa

from connectors.whatsapp.tables import inbox
from rasa_project.waitlist import WaitlistSlot
from rasa_project.waitlist.tables import entries

ANA, BETO, CARLA = "+5215511110001", "+5215511110002", "+5215511110003"
T0 = datetime(2030, 3, 4, 15, 0, tzinfo=timezone.utc)  # the tests' "now"


def slot(slot_id: int = 101, hours_ahead: float = 24.0) -> WaitlistSlot:
    return WaitlistSlot(slot_id, "pilates", "Pilates", T0 + timedelta(hours=hours_ahead))


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


def offer_rows(engine: sa.engine.Engine) -> List[Dict[str, Any]]:
    """The waitlist offers queued in the inbox, in order: sender, key, intent and entities."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(inbox.c.sender_id, inbox.c.message_sid, inbox.c.metadata)
                            .where(inbox.c.message_sid.like("proactive:waitlist-offer-%"))
                            .order_by(inbox.c.id)).all()
    return [{"sender": r.sender_id, "sid": r.message_sid, **json.loads(r.metadata)["proactive"]} for r in rows]


def live_offers(engine: sa.engine.Engine, slot_id: int) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(entries)
                                .where(entries.c.slot_id == slot_id, entries.c.state == "offered")).scalar_one())
