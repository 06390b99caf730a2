"""`purchase_outcomes` (m0007): what became of each payment link the bot sent, as the booking API says.

The bot only sends a link; the client pays on the payment page, outside the conversation, so the log
cannot know whether a purchase was completed. `sync_purchase_outcomes` (run from cron:
`python -m rasa_project stats --sync-purchases`) asks `purchase_history(phone)` once per client who has a
link whose outcome is not final yet (none recorded, or `pending`) and records each purchase's status.
It is idempotent: `paid` and `expired` are final (the API never changes them) and never asked again; a
repeated run rewrites the same rows. The API reports no payment time, so `paid_at` is when a sync first
saw the purchase paid (an upper bound; the figures count a purchase on the day its link was sent).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Callable, Dict, List, Tuple

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from rasa_project.booking_api import BookingApiClient
from rasa_project.booking_api.errors import BookingApiError, ClientNotFound
from rasa_project.booking_api.models import Purchase
from rasa_project.phones import is_e164, without_prefix

logger = logging.getLogger(__name__)

FINAL_STATUSES = ("paid", "expired")
PAID = "paid"

# The table as m0007 creates it (tests compare the two), for typed reads and writes. SQLite stores the
# NUMERIC amount as a float, so it is read as one and turned back into exact cents (`purchase_outcomes`).
PURCHASE_OUTCOMES = sa.Table(
    "purchase_outcomes",
    sa.MetaData(),
    sa.Column("purchase_id", sa.String(64), primary_key=True),
    sa.Column("sender_id", sa.String(255), nullable=False),
    sa.Column("phone", sa.String(32), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("amount", sa.Numeric(12, 2, asdecimal=False), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("paid_at", sa.DateTime, nullable=True),
    sa.Column("checked_at", sa.DateTime, nullable=False),
)

_UPSERT = sa.text(
    "INSERT INTO purchase_outcomes (purchase_id, sender_id, phone, status, amount, currency, paid_at, checked_at)"
    " VALUES (:purchase_id, :sender_id, :phone, :status, :amount, :currency, :paid_at, :checked_at)"
    " ON CONFLICT (purchase_id) DO UPDATE SET status = excluded.status, amount = excluded.amount,"
    " currency = excluded.currency, checked_at = excluded.checked_at,"
    " paid_at = COALESCE(purchase_outcomes.paid_at, excluded.paid_at)"
).bindparams(*(sa.bindparam(c.name, type_=c.type) for c in PURCHASE_OUTCOMES.columns))


@dataclass
class SyncResult:
    """What one sync did: purchases asked about, rows written, and why some could not be."""

    asked: int = 0
    recorded: int = 0
    paid: int = 0
    missing: List[str] = field(default_factory=list)  # purchase ids the API did not list for their client
    skipped: List[str] = field(default_factory=list)  # senders that are not a phone or not a client (permanent)
    failed: List[str] = field(default_factory=list)  # senders whose history the API did not give (retry later)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)


def client_phone(sender_id: str) -> str | None:
    """The client's number, by the actions' rule (`actions/identity.py`): the sender id without `whatsapp:`."""
    sender = without_prefix(sender_id)
    return sender if is_e164(sender) else None


def open_links(engine: Engine) -> List[Tuple[str, str]]:
    """(purchase id, sender id) of every link the log shows sent whose outcome is not final."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT l.purchase_id, l.sender_id FROM purchase_links l"
            " LEFT JOIN purchase_outcomes o ON o.purchase_id = l.purchase_id"
            f" WHERE o.purchase_id IS NULL OR o.status NOT IN ('{FINAL_STATUSES[0]}', '{FINAL_STATUSES[1]}')"
            " ORDER BY l.first_sent_ts, l.purchase_id"
        ))
        return [(str(r.purchase_id), str(r.sender_id)) for r in rows]


def _record(engine: Engine, rows: List[Dict[str, object]]) -> None:
    if rows:
        with engine.begin() as conn:
            conn.execute(_UPSERT, rows)


async def sync_purchase_outcomes(
    engine: Engine, api: BookingApiClient, now: Callable[[], dt.datetime] = utc_now
) -> SyncResult:
    """Ask the booking API about every open link (one history call per client) and record the answers."""
    links = await asyncio.to_thread(open_links, engine)
    by_sender: Dict[str, List[str]] = {}
    for purchase_id, sender_id in links:
        by_sender.setdefault(sender_id, []).append(purchase_id)
    result = SyncResult()
    for sender_id, purchase_ids in by_sender.items():
        phone = client_phone(sender_id)
        if phone is None:
            result.skipped.append(sender_id)
            continue
        result.asked += len(purchase_ids)
        try:
            history: List[Purchase] = await api.purchase_history(phone)
        except ClientNotFound:
            result.skipped.append(sender_id)
            continue
        except BookingApiError as exc:
            logger.warning("purchase sync: no history for %s: %s", sender_id, exc)
            result.failed.append(sender_id)
            continue
        checked_at = now()
        known = {p.id: p for p in history}
        rows: List[Dict[str, object]] = []
        for purchase_id in purchase_ids:
            purchase = known.get(purchase_id)
            if purchase is None:
                result.missing.append(purchase_id)
                continue
            rows.append({
                "purchase_id": purchase.id, "sender_id": sender_id, "phone": phone, "status": purchase.status,
                "amount": purchase.amount, "currency": purchase.currency,
                "paid_at": checked_at if purchase.status == PAID else None, "checked_at": checked_at,
            })
            if purchase.status == PAID:
                result.paid += 1
        await asyncio.to_thread(_record, engine, rows)
        result.recorded += len(rows)
    return result


def purchase_outcomes(engine: Engine) -> List[Dict[str, object]]:
    """Every recorded outcome, oldest check first (typed: amounts as Decimal cents, times as naive UTC)."""
    query = sa.select(PURCHASE_OUTCOMES).order_by(PURCHASE_OUTCOMES.c.checked_at, PURCHASE_OUTCOMES.c.purchase_id)
    with engine.connect() as conn:
        rows = [dict(row._mapping) for row in conn.execute(query)]
    for row in rows:
        row["amount"] = Decimal(f"{row['amount']:.2f}")
    return rows
