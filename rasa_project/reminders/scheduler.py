"""The scheduler: due reminders claimed once, queued in the inbox in the same transaction, then reconciled.

Each tick (every `REMINDERS_POLL_SECONDS`):
1. claim: in batches of `REMINDERS_BATCH`, `SELECT ... WHERE state = 'pending' AND due_at <= now FOR UPDATE
   SKIP LOCKED`; for each row, in the SAME transaction, either skip it (`rules.skip_reason`: opted out,
   undeliverable, too late, superseded) or queue its proactive message (`connectors.whatsapp.proactive.
   enqueue`, keyed `reminder-<id>`) and mark it `claimed`. A scheduler killed mid-batch commits nothing
   (the rows stay pending for the next run); two schedulers on one database never lock the same row, and
   the inbox's unique key makes a second enqueue of a key a no-op anyway. After the commit, `wake` (the
   inbox worker's, when the scheduler runs in the Rasa process) starts the sender's drain at once;
   otherwise the channel's poller finds the row within `inbox_poll_seconds`.
2. reconcile: claimed rows read what became of their key (`proactive.outcomes`) and move to sent (with
   the Twilio SID and status, `sent_at` = when the message was handed to Twilio), skipped or failed. A
   claimed row whose inbox row disappeared (purged by hand) goes back to pending once its lease
   (`inbox_lease_seconds`) is over; while the inbox row exists the inbox worker owns the retries.

"Undeliverable" is the channel's mark on `whatsapp_senders` (m0011, `undeliverable_at`): Twilio answered a
code that means the number cannot get WhatsApp (docs/whatsapp-window.md); it clears when the client writes.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable, Dict, List, Optional, Sequence, Set, Tuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from connectors.whatsapp.proactive import ProactiveMessage, enqueue, outcomes
from connectors.whatsapp.tables import outbound, senders, utcnow
from rasa_project.metrics import (
    REMINDER_DELAY,
    REMINDERS_CLAIMED,
    REMINDERS_FAILED,
    REMINDERS_SENT,
    REMINDERS_SKIPPED,
)
from rasa_project.reminders.rules import skip_reason
from rasa_project.reminders.tables import (
    CLAIMED,
    FAILED,
    INTENT,
    OPTED_OUT,
    PENDING,
    SENT,
    SKIPPED,
    SUPERSEDED,
    TOO_LATE,
    UNDELIVERABLE,
    key_of,
    reminders,
)
from rasa_project.settings import Settings

logger = logging.getLogger(__name__)

MAX_BATCHES_PER_TICK = 100  # a tick ends after this many full batches; the next one continues
RECONCILE_LIMIT = 1000  # claimed rows read per reconcile
METRIC_REASONS = {TOO_LATE, OPTED_OUT, UNDELIVERABLE, SUPERSEDED, "no_message"}

Wake = Callable[[str], None]


@dataclass(frozen=True)
class SenderFact:
    opted_out: bool = False
    undeliverable: bool = False


class SenderFacts:
    """Opt-out and the undeliverable mark (m0011: Twilio said the number cannot get our messages), for the
    senders of one batch, in one query."""

    def of(self, conn: Connection, phones: Sequence[str]) -> Dict[str, SenderFact]:
        if not phones:
            return {}
        query = (sa.select(senders.c.sender_id, senders.c.opted_out, senders.c.undeliverable_at)
                 .where(senders.c.sender_id.in_(sorted(set(phones)))))
        return {row.sender_id: SenderFact(bool(row.opted_out), row.undeliverable_at is not None)
                for row in conn.execute(query)}


@dataclass
class BatchResult:
    rows: int = 0
    enqueued: List[str] = field(default_factory=list)  # the senders to wake
    skipped: Dict[str, int] = field(default_factory=dict)


@dataclass
class ReconcileResult:
    sent: int = 0
    skipped: int = 0
    failed: int = 0


class ReminderScheduler:
    def __init__(self, settings: Settings, engine: Engine, owner: str, wake: Optional[Wake] = None) -> None:
        self.settings = settings
        self.engine = engine
        self.owner = owner
        self.wake = wake
        self.facts = SenderFacts()
        self.is_postgres = engine.dialect.name == "postgresql"

    # -- one tick ----------------------------------------------------------------------------------

    async def tick(self) -> Tuple[int, ReconcileResult]:
        """Claim everything due (batch after batch), then reconcile; returns (rows claimed or skipped, reconcile)."""
        handled, queued = 0, []
        for _ in range(MAX_BATCHES_PER_TICK):
            batch = await asyncio.to_thread(self.claim_batch)
            handled += batch.rows
            queued += batch.enqueued
            if batch.rows < self.settings.reminders_batch:
                break
        if self.wake is not None:  # after the claims: drains started mid-claim slow the claims down (bench)
            for sender in dict.fromkeys(queued):
                self.wake(sender)
        return handled, await asyncio.to_thread(self.reconcile)

    # -- claim ---------------------------------------------------------------------------------------

    def claim_batch(self, now: Optional[datetime] = None) -> BatchResult:
        now = now or utcnow()
        query = (sa.select(reminders).where(reminders.c.state == PENDING, reminders.c.due_at <= now)
                 .order_by(reminders.c.due_at, reminders.c.id).limit(self.settings.reminders_batch))
        if self.is_postgres:
            query = query.with_for_update(skip_locked=True)
        result = BatchResult()
        with self.engine.begin() as conn:
            rows = conn.execute(query).all()
            result.rows = len(rows)
            if not rows:
                return result
            facts = self.facts.of(conn, [r.client_phone for r in rows])
            superseded = self._superseded(conn, rows, now)
            lease_until = now + timedelta(seconds=self.settings.inbox_lease_seconds)
            claimed: List[int] = []
            skipped: Dict[str, List[int]] = {}
            for row in rows:
                fact = facts.get(row.client_phone, SenderFact())
                reason = skip_reason(row.starts_at, now, self.settings.reminders_min_lead_minutes,
                                     opted_out=fact.opted_out, undeliverable=fact.undeliverable,
                                     superseded=row.id in superseded)
                if reason is not None:
                    skipped.setdefault(reason, []).append(row.id)
                    continue
                enqueue(conn, ProactiveMessage(
                    sender_id=row.client_phone, key=key_of(row.id), intent=INTENT,
                    entities={"reserva_id": row.booking_id, "recordatorio_id": str(row.id)}))
                claimed.append(row.id)
                result.enqueued.append(row.client_phone)
            if claimed:  # one statement per batch (and per skip reason), in the same transaction
                conn.execute(reminders.update().where(reminders.c.id.in_(claimed))
                             .values(state=CLAIMED, claimed_by=self.owner, lease_until=lease_until,
                                     attempts=reminders.c.attempts + 1, reason=None, updated_at=now))
            for reason, ids in skipped.items():
                conn.execute(reminders.update().where(reminders.c.id.in_(ids))
                             .values(state=SKIPPED, reason=reason, updated_at=now))
                result.skipped[reason] = len(ids)
        REMINDERS_CLAIMED.inc(len(result.enqueued))
        for reason, count in result.skipped.items():
            REMINDERS_SKIPPED.labels(reason=reason).inc(count)
        return result

    @staticmethod
    def _superseded(conn: Connection, rows: Sequence[sa.Row], now: datetime) -> Set[int]:
        """Rows with a later reminder (smaller offset) of the same booking also due: only the latest goes out."""
        due_siblings = conn.execute(
            sa.select(reminders.c.booking_id, reminders.c.offset_minutes)
            .where(reminders.c.booking_id.in_({r.booking_id for r in rows}), reminders.c.due_at <= now,
                   reminders.c.state.in_((PENDING, CLAIMED, SENT)))).all()
        smallest: Dict[str, int] = {}
        for booking_id, offset in due_siblings:
            smallest[booking_id] = min(offset, smallest.get(booking_id, offset))
        return {r.id for r in rows if smallest.get(r.booking_id, r.offset_minutes) < r.offset_minutes}

    # -- reconcile -----------------------------------------------------------------------------------

    def reconcile(self) -> ReconcileResult:
        with self.engine.connect() as conn:
            claimed = conn.execute(sa.select(reminders.c.id, reminders.c.due_at, reminders.c.lease_until)
                                   .where(reminders.c.state == CLAIMED)
                                   .order_by(reminders.c.id).limit(RECONCILE_LIMIT)).all()
        result = ReconcileResult()
        if not claimed:
            return result
        keys = {key_of(r.id): r for r in claimed}
        found = outcomes(self.engine, list(keys))
        sids = [o.twilio_sid for o in found.values() if o.state == SENT and o.twilio_sid]
        now = utcnow()
        with self.engine.begin() as conn:
            handed = dict(conn.execute(sa.select(outbound.c.twilio_sid, outbound.c.created_at)
                                       .where(outbound.c.twilio_sid.in_(sids))).all()) if sids else {}
            for key, row in keys.items():
                outcome = found.get(key)
                if outcome is None and row.lease_until is not None and row.lease_until < now:
                    # its inbox row is gone (purged by hand): claimed again on the next tick
                    conn.execute(reminders.update().where(reminders.c.id == row.id, reminders.c.state == CLAIMED)
                                 .values(state=PENDING, claimed_by=None, lease_until=None, updated_at=now))
                    continue
                if outcome is None or outcome.state == PENDING:
                    continue  # the inbox worker has not finished it yet
                values: Dict[str, object] = dict(state=outcome.state, updated_at=now)
                if outcome.state == SENT:
                    sid = outcome.twilio_sid
                    status = next((m.status for m in outcome.messages if m.twilio_sid == sid), None)
                    values.update(twilio_sid=sid, twilio_status=status, sent_at=handed.get(sid, now), reason=None)
                else:
                    values.update(reason=outcome.reason)
                updated = conn.execute(reminders.update()
                                       .where(reminders.c.id == row.id, reminders.c.state == CLAIMED)
                                       .values(**values)).rowcount
                if not updated:
                    continue  # cancelled meanwhile
                if outcome.state == SENT:
                    result.sent += 1
                    REMINDERS_SENT.inc()
                    REMINDER_DELAY.observe(max(0.0, (handed.get(sid, now) - row.due_at).total_seconds()))
                elif outcome.state == SKIPPED:
                    result.skipped += 1
                    label = outcome.reason if outcome.reason in METRIC_REASONS else "other"
                    REMINDERS_SKIPPED.labels(reason=label).inc()
                elif outcome.state == FAILED:
                    result.failed += 1
                    REMINDERS_FAILED.inc()
        return result
