"""Offering a slot's freed place: to its first waiting client, and only while no entry of the slot holds it.

Three guards, so two clients are never offered the same place at once:
1. every transaction that can move a slot's place (a freed place, a decline, an expiry, a withdrawal) takes
   the slot's transaction-scoped advisory lock first (Postgres), so they run one after the other per slot
   and always in the same lock order (slot, then rows: no deadlock);
2. the entry moves waiting → offered by a conditional update (`WHERE state = 'waiting'`);
3. the partial unique index `uq_waitlist_one_offer_per_slot` refuses a second offered/accepted entry of a
   slot whatever the code does; on Postgres the attempt runs in a savepoint and counts as "nobody offered".

The offer's message is queued in the same transaction (`connectors.whatsapp.proactive.enqueue`): an offer
and its message exist together or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from connectors.whatsapp.proactive import ProactiveMessage, enqueue
from rasa_project.metrics import WAITLIST_EVENTS
from rasa_project.waitlist.models import Entry
from rasa_project.waitlist.tables import EXPIRED, HOLDING, OFFERED, WAITING, entries

OFFER_INTENT = "EXTERNAL_lugar_libre"
OFFER_ENTITY = "oferta_id"
TOO_LATE = "too_late"  # reason of an entry expired because its slot starts too soon (or started)
_LOCK_CLASS = 720_305_013  # advisory lock namespace of the waitlist (migrations use 720_305_001)
_MAX_TRIES = 5


@dataclass(frozen=True)
class OfferRules:
    offer_minutes: float  # how long an offered place waits for the client's answer
    min_lead_minutes: float  # no offer for a slot that starts sooner than this


def offer_key(entry_id: int) -> str:
    """The proactive message key of an entry's offer (`proactive:waitlist-offer-<id>` in the inbox)."""
    return f"waitlist-offer-{entry_id}"


def lock_slot(conn: Connection, slot_id: int) -> None:
    """Serialize, per slot, every transaction that can move its place (held until commit or rollback)."""
    if conn.engine.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k, :s)"), {"k": _LOCK_CLASS, "s": int(slot_id)})


def holder(conn: Connection, slot_id: int) -> Optional[int]:
    """The entry that holds the slot's place (offered, or accepted and booking), if any."""
    return conn.execute(sa.select(entries.c.id).where(entries.c.slot_id == slot_id,
                                                      entries.c.state.in_(HOLDING)).limit(1)).scalar()


def expire_too_late(conn: Connection, now: datetime, rules: OfferRules, slot_id: Optional[int] = None) -> int:
    """Waiting entries whose slot starts within the minimum lead (or started) → expired; how many."""
    stmt = (entries.update()
            .where(entries.c.state == WAITING,
                   entries.c.starts_at <= now + timedelta(minutes=rules.min_lead_minutes))
            .values(state=EXPIRED, answered_at=now, reason=TOO_LATE))
    if slot_id is not None:
        stmt = stmt.where(entries.c.slot_id == slot_id)
    expired = int(conn.execute(stmt).rowcount)
    if expired:  # counted before the commit: a rolled-back transaction may overcount, never undercount
        WAITLIST_EVENTS.labels("expired").inc(expired)
    return expired


def offer_next(conn: Connection, slot_id: int, now: datetime, rules: OfferRules) -> Optional[Entry]:
    """Offer the slot's place to its first waiting client (joined_at, id) and queue the message, inside the
    caller's transaction; None when someone holds it, nobody waits, or the slot starts too soon."""
    lock_slot(conn, slot_id)
    if holder(conn, slot_id) is not None:
        return None
    expire_too_late(conn, now, rules, slot_id)
    for _ in range(_MAX_TRIES):  # a row that stopped waiting between the read and its lock: the next one
        row = conn.execute(sa.select(entries.c.id, entries.c.starts_at)
                           .where(entries.c.slot_id == slot_id, entries.c.state == WAITING)
                           .order_by(entries.c.joined_at, entries.c.id).limit(1).with_for_update()).first()
        if row is None:
            return None
        expires = min(now + timedelta(minutes=rules.offer_minutes), row.starts_at)
        offered = _claim(conn, int(row.id), now, expires)
        if offered is None:
            return None  # the unique index: another transaction holds the place
        if offered:
            entry = Entry.from_row(conn.execute(sa.select(entries).where(entries.c.id == row.id)).one())
            enqueue(conn, ProactiveMessage(
                sender_id=entry.client_phone, key=offer_key(entry.id), intent=OFFER_INTENT,
                entities={OFFER_ENTITY: str(entry.id), "slot_id": str(entry.slot_id)}))
            return entry
    return None


def _claim(conn: Connection, entry_id: int, now: datetime, expires: datetime) -> Optional[bool]:
    """waiting → offered; False when the entry stopped waiting, None when the slot's place is held."""
    stmt = (entries.update().where(entries.c.id == entry_id, entries.c.state == WAITING)
            .values(state=OFFERED, offered_at=now, offer_expires_at=expires, answered_at=None, reason=None))
    if conn.engine.dialect.name != "postgresql":  # SQLite serializes writers; the index still refuses a second
        return conn.execute(stmt).rowcount == 1
    savepoint = conn.begin_nested()
    try:
        updated = conn.execute(stmt).rowcount == 1
    except sa.exc.IntegrityError:
        savepoint.rollback()
        return None
    savepoint.commit()
    return updated
