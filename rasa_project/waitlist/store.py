"""The waitlist's operations (synchronous, one short transaction each); `facade.Waitlist` runs them off the
event loop. States and their moves (docs/waitlist.md):

    waiting ──place_freed / the previous one passed──▶ offered ──accept──▶ accepted ──booked──▶ booked
       │                                                 │                    └──accept_failed──▶ cancelled
       └──withdraw──▶ withdrawn                          ├──decline──▶ declined  (next offered at once)
       └──slot too soon──▶ expired                       ├──time ran out (sweep)──▶ expired  (next offered)
                                                         └──withdraw──▶ withdrawn  (next offered)

Every method takes `now` (aware or naive UTC) for tests; production passes nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from connectors.whatsapp.tables import dialect_insert
from rasa_project.metrics import WAITLIST_EVENTS
from rasa_project.phones import normalize_e164
from rasa_project.settings import Settings
from rasa_project.waitlist.models import Entry, Offer, SlotLike, WaitlistSlot, as_waitlist_slot, naive_utc
from rasa_project.waitlist.offering import OfferRules, expire_too_late, lock_slot, offer_next
from rasa_project.waitlist.tables import (
    ACCEPTED,
    BOOKED,
    CANCELLED,
    DECLINED,
    EXPIRED,
    HOLDING,
    LIVE,
    OFFERED,
    WAITING,
    WITHDRAWN,
    entries,
    utcnow,
)

logger = logging.getLogger(__name__)

# An accepted offer whose booking never reported back (the action died) stops holding the place after this
# long; the next sync (`sync.check_slots`) offers it again if the booking API still shows room.
ACCEPT_GRACE = timedelta(minutes=10)
_SWEEP_BATCH = 200


class WaitlistStore:
    """The waitlist on the conversation-log database (table `waitlist_entries`, migration m0013)."""

    def __init__(self, engine: Engine, *, offer_minutes: float = 30.0, min_lead_minutes: float = 30.0) -> None:
        self.engine = engine
        self.rules = OfferRules(float(offer_minutes), float(min_lead_minutes))

    @classmethod
    def from_settings(cls, engine: Engine, settings: Settings) -> WaitlistStore:
        return cls(engine, offer_minutes=settings.waitlist_offer_minutes,
                   min_lead_minutes=settings.waitlist_min_lead_minutes)

    # -- joining and leaving ---------------------------------------------------------------------

    def join(self, client_phone: str, slot: SlotLike, *, now: Optional[datetime] = None) -> Entry:
        """Put the client on the slot's list; joining again while on it keeps the first place."""
        phone, place, at = normalize_e164(client_phone), as_waitlist_slot(slot), _now(now)
        with self.engine.begin() as conn:
            existing = self._live(conn, phone, place.slot_id)
            if existing is not None:
                return existing
            # a concurrent join of the same client meets the live-entry unique index and inserts nothing
            inserted = conn.execute(dialect_insert(self.engine, entries).values(
                slot_id=place.slot_id, service_code=place.service_code, service_name=place.service_name,
                starts_at=naive_utc(place.starts_at), client_phone=phone, state=WAITING, joined_at=at,
            ).on_conflict_do_nothing()).rowcount == 1
            entry = self._live(conn, phone, place.slot_id)
        assert entry is not None
        if inserted:
            WAITLIST_EVENTS.labels("joined").inc()
        return entry

    def withdraw(self, client_phone: str, slot_id: int, *, now: Optional[datetime] = None) -> bool:
        """Take the client off the slot's list; an offer they held passes to the next at once."""
        phone, at = normalize_e164(client_phone), _now(now)
        with self.engine.begin() as conn:
            lock_slot(conn, slot_id)
            entry = self._live(conn, phone, slot_id)
            if entry is None or entry.state == ACCEPTED:  # a booking under way finishes first
                return False
            moved = self._move(conn, entry.id, (entry.state,), WITHDRAWN, at, reason="withdrawn")
            nxt = offer_next(conn, slot_id, at, self.rules) if moved and entry.state == OFFERED else None
        _counted(None, nxt)
        return moved

    # -- the place -------------------------------------------------------------------------------

    def place_freed(self, slot_id: int, *, now: Optional[datetime] = None) -> Optional[Entry]:
        """A place of the slot is free: offer it to the first waiting client (and queue the message), unless
        somebody holds an offer of the slot already; None when nobody was offered."""
        at = _now(now)
        with self.engine.begin() as conn:
            entry = offer_next(conn, int(slot_id), at, self.rules)
        _counted(None, entry)
        return entry

    def live_offer(self, client_phone: str, *, now: Optional[datetime] = None) -> Optional[Offer]:
        """The client's offer that still waits for an answer (the latest, if several slots offered)."""
        phone, at = normalize_e164(client_phone), _now(now)
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(entries)
                               .where(entries.c.client_phone == phone, entries.c.state == OFFERED,
                                      entries.c.offer_expires_at > at)
                               .order_by(entries.c.offered_at.desc(), entries.c.id.desc()).limit(1)).first()
        return Offer.from_entry(Entry.from_row(row)) if row is not None else None

    def accept(self, entry_id: int, *, now: Optional[datetime] = None) -> Optional[Offer]:
        """'sí': the offer becomes accepted (the booking may start) only if still offered and unexpired; an
        entry accepted already is returned again (a retried action). None: expired, declined or taken."""
        at = _now(now)
        with self.engine.begin() as conn:
            conn.execute(entries.update()
                         .where(entries.c.id == entry_id, entries.c.state == OFFERED, entries.c.offer_expires_at > at)
                         .values(state=ACCEPTED, answered_at=at))
            entry = self._entry(conn, entry_id)
        if entry is None or entry.state != ACCEPTED:
            return None
        return Offer.from_entry(entry)

    def booked(self, entry_id: int, booking_id: str, *, now: Optional[datetime] = None) -> bool:
        """The booking of an accepted offer succeeded: record it (also after the offer had lapsed)."""
        at = _now(now)
        with self.engine.begin() as conn:
            moved = conn.execute(entries.update()
                                 .where(entries.c.id == entry_id, entries.c.state.in_((ACCEPTED, OFFERED, EXPIRED)))
                                 .values(state=BOOKED, booking_id=str(booking_id), reason=None,
                                         answered_at=sa.func.coalesce(entries.c.answered_at, at))).rowcount == 1
        if moved:
            WAITLIST_EVENTS.labels("booked").inc()
        return moved

    def accept_failed(self, entry_id: int, reason: str, *, offer_next_client: bool = False,
                      now: Optional[datetime] = None) -> Optional[Entry]:
        """The booking of an accepted offer failed (e.g. the slot filled meanwhile): the entry ends
        (cancelled, with `reason`) and the place is NOT offered on, since it may be gone; the next sync
        offers it if the booking API still shows room. `offer_next_client=True` when the caller knows the
        place is still free (the failure was this client's): the next client is offered at once."""
        at = _now(now)
        with self.engine.begin() as conn:
            slot_id = self._slot_of(conn, entry_id)
            if slot_id is None:
                return None
            lock_slot(conn, slot_id)
            moved = self._move(conn, entry_id, (ACCEPTED, OFFERED), CANCELLED, at, reason=reason or "accept_failed")
            nxt = offer_next(conn, slot_id, at, self.rules) if moved and offer_next_client else None
        if moved:
            WAITLIST_EVENTS.labels("failed").inc()
        _counted(None, nxt)
        return nxt

    def decline(self, entry_id: int, *, now: Optional[datetime] = None) -> Optional[Entry]:
        """'no': the offer is declined and the place passes to the next waiting client at once (returned)."""
        at = _now(now)
        with self.engine.begin() as conn:
            slot_id = self._slot_of(conn, entry_id)
            if slot_id is None:
                return None
            lock_slot(conn, slot_id)
            moved = self._move(conn, entry_id, (OFFERED,), DECLINED, at, reason="declined")
            nxt = offer_next(conn, slot_id, at, self.rules) if moved else None
        _counted("declined" if moved else None, nxt)
        return nxt

    # -- time ------------------------------------------------------------------------------------

    def sweep_once(self, now: Optional[datetime] = None) -> Dict[str, int]:
        """Offers whose time ran out → expired, and the next waiting client of each slot is offered; waiting
        entries of slots that start too soon → expired; accepted offers never reported → expired."""
        at = _now(now)
        counts = {"expired_offers": 0, "offered": 0, "expired_waiting": 0, "stale_accepts": 0}
        with self.engine.connect() as conn:
            due = conn.execute(sa.select(entries.c.id, entries.c.slot_id)
                               .where(entries.c.state == OFFERED, entries.c.offer_expires_at <= at)
                               .order_by(entries.c.offer_expires_at, entries.c.id).limit(_SWEEP_BATCH)).all()
            stale = conn.execute(sa.select(entries.c.id, entries.c.slot_id)
                                 .where(entries.c.state == ACCEPTED, entries.c.answered_at <= at - ACCEPT_GRACE)
                                 .limit(_SWEEP_BATCH)).all()
        for row in due:
            with self.engine.begin() as conn:
                lock_slot(conn, row.slot_id)
                moved = conn.execute(entries.update()
                                     .where(entries.c.id == row.id, entries.c.state == OFFERED,
                                            entries.c.offer_expires_at <= at)
                                     .values(state=EXPIRED, answered_at=at, reason="no_answer")).rowcount == 1
                nxt = offer_next(conn, row.slot_id, at, self.rules) if moved else None
            counts["expired_offers"] += int(moved)
            counts["offered"] += int(nxt is not None)
            _counted("expired" if moved else None, nxt)
        for row in stale:
            with self.engine.begin() as conn:
                lock_slot(conn, row.slot_id)
                moved = self._move(conn, row.id, (ACCEPTED,), EXPIRED, at, reason="booking_unconfirmed")
            counts["stale_accepts"] += int(moved)
        with self.engine.begin() as conn:
            counts["expired_waiting"] = expire_too_late(conn, at, self.rules)
        return counts

    # -- reading ---------------------------------------------------------------------------------

    def entry(self, entry_id: int) -> Optional[Entry]:
        with self.engine.connect() as conn:
            return self._entry(conn, entry_id)

    def slot_entries(self, slot_id: int) -> List[Entry]:
        """Every entry of a slot in list order (joined_at, id)."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(entries).where(entries.c.slot_id == slot_id)
                                .order_by(entries.c.joined_at, entries.c.id)).all()
        return [Entry.from_row(r) for r in rows]

    def slots_waiting(self, *, now: Optional[datetime] = None) -> List[WaitlistSlot]:
        """Slots someone waits for that nobody holds an offer of and that may still be offered."""
        at = _now(now)
        held = sa.select(entries.c.slot_id).where(entries.c.state.in_(HOLDING))
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(entries.c.slot_id, sa.func.min(entries.c.service_code).label("service_code"),
                          sa.func.min(entries.c.service_name).label("service_name"),
                          sa.func.min(entries.c.starts_at).label("starts_at"))
                .where(entries.c.state == WAITING, entries.c.slot_id.not_in(held),
                       entries.c.starts_at > at + timedelta(minutes=self.rules.min_lead_minutes))
                .group_by(entries.c.slot_id).order_by(sa.func.min(entries.c.starts_at))).all()
        return [WaitlistSlot(int(r.slot_id), r.service_code, r.service_name,
                             r.starts_at.replace(tzinfo=timezone.utc)) for r in rows]

    @staticmethod
    def _entry(conn: Connection, entry_id: int) -> Optional[Entry]:
        row = conn.execute(sa.select(entries).where(entries.c.id == entry_id)).first()
        return Entry.from_row(row) if row is not None else None

    @staticmethod
    def _live(conn: Connection, phone: str, slot_id: int) -> Optional[Entry]:
        row = conn.execute(sa.select(entries).where(entries.c.slot_id == slot_id, entries.c.client_phone == phone,
                                                    entries.c.state.in_(LIVE))).first()
        return Entry.from_row(row) if row is not None else None

    @staticmethod
    def _slot_of(conn: Connection, entry_id: int) -> Optional[int]:
        return conn.execute(sa.select(entries.c.slot_id).where(entries.c.id == entry_id)).scalar()

    @staticmethod
    def _move(conn: Connection, entry_id: int, from_states: Any, to_state: str, at: datetime,
              reason: Optional[str]) -> bool:
        """A conditional state change: True only when the entry was in one of `from_states`."""
        return conn.execute(entries.update().where(entries.c.id == entry_id, entries.c.state.in_(tuple(from_states)))
                            .values(state=to_state, answered_at=at, reason=reason)).rowcount == 1


def _now(now: Optional[datetime]) -> datetime:
    return utcnow() if now is None else naive_utc(now)


def _counted(event: Optional[str], offered: Optional[Entry]) -> None:
    """Count after the transaction committed: `event` (declined, expired) and an offer made."""
    if event:
        WAITLIST_EVENTS.labels(event).inc()
    if offered is not None:
        WAITLIST_EVENTS.labels("offered").inc()
