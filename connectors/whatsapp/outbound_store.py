"""Every outbound message and every Twilio status callback, in the conversation-log database.

Synchronous SQLAlchemy (callers use `asyncio.to_thread`). Status callbacks can arrive before the
send call returned (the row has no SID yet) and out of order (sent after delivered), so a row's
status only moves forward by `STATUS_RANK`, and a SID recorded late picks up callbacks already seen.
A message that may go as a template (docs/whatsapp-window.md) keeps the template's name and variables:
`offered` while it went free-form, `sent` when it went as the template, `retried` once its one retry
after a 63016 was claimed (a conditional update, so duplicate callbacks retry once).

Each method is one statement on the autocommit engine (`database.autocommit_engine`): one round trip. A
status callback (append the event, move the row forward) is one statement on Postgres too (a CTE).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Iterable, Optional, Set

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from connectors.whatsapp.delivery_rules import TemplateRef
from connectors.whatsapp.retried_turn import EarlierReply
from connectors.whatsapp.tables import outbound, status_events, utcnow
from rasa_project.conversation_log.database import autocommit_engine

OFFERED, SENT_AS_TEMPLATE, RETRIED = "offered", "sent", "retried"  # template_state

STATUS_RANK = {
    "sending": 0, "accepted": 1, "scheduled": 1, "queued": 1, "sent": 2, "delivered": 3, "read": 4,
    "failed": 5, "undelivered": 5, "suppressed": 5, "canceled": 5, "interrupted": 5, "skipped": 5,
}


@dataclass(frozen=True)
class OutboundRow:
    """What a status callback's follow-up (undeliverable mark, template retry) needs of its message."""

    id: int
    sender_id: str
    inbox_id: Optional[int]
    kind: str
    body: Optional[str]
    template: Optional[TemplateRef]
    template_state: Optional[str]


def _rank(status: Optional[str]) -> int:
    return STATUS_RANK.get(status or "", 0)


def _rank_sql(column: sa.ColumnElement) -> sa.ColumnElement:
    """`STATUS_RANK` in SQL (unknown statuses rank 0, as `_rank`)."""
    return sa.case(STATUS_RANK, value=column, else_=0)


def _furthest_seen(twilio_sid: str) -> sa.Subquery:
    """The callback already seen for a SID that a late `record_accepted` must keep: the furthest along, the
    latest of equals (what replaying them in id order by `_rank` gives)."""
    rank = _rank_sql(status_events.c.status)
    return (sa.select(status_events.c.status, status_events.c.error_code, rank.label("rank"))
            .where(status_events.c.twilio_sid == twilio_sid)
            .order_by(rank.desc(), status_events.c.id.desc()).limit(1).subquery())


def _ranks(column: str) -> str:
    """`STATUS_RANK` of `column` as SQL text (unknown statuses rank 0), for the text statements below."""
    whens = " ".join(f"WHEN '{name}' THEN {rank}" for name, rank in STATUS_RANK.items())
    return f"CASE {column} {whens} ELSE 0 END"


# `record_accepted` on Postgres: the same statement as the portable one below, written once as text: the
# SQLAlchemy expression (three CASEs over `STATUS_RANK` and their subqueries) cost ~7 ms of CPU per reply
# in building its cache key alone (py-spy, the Rasa process under load)
_RECORD_ACCEPTED = sa.text(f"""
WITH f AS (
  SELECT status, error_code, {_ranks('status')} AS rank FROM whatsapp_status_events
  WHERE twilio_sid = :sid ORDER BY rank DESC, id DESC LIMIT 1)
UPDATE whatsapp_outbound
SET twilio_sid = :sid, attempts = :attempts, error_message = NULL, updated_at = :now,
    status = CASE WHEN (SELECT rank FROM f) >= :rank THEN (SELECT status FROM f) ELSE :status END,
    error_code = CASE WHEN (SELECT rank FROM f) >= :rank THEN (SELECT error_code FROM f) ELSE NULL END
WHERE id = :id
""")

# Built once: executing the same statement object with new parameters reuses its memoized cache key (a
# new `insert().values(...)` per reply spent ~0.3 ms of CPU rebuilding it).
_CREATE = outbound.insert().values({name: sa.bindparam(name) for name in (
    "sender_id", "inbox_id", "kind", "body", "media_url", "status", "error_message", "attempts", "created_at",
    "updated_at", "reply_index", "template_name", "template_variables", "template_state")})

_RECORD_STATUS = sa.text("""
WITH ev AS (
  INSERT INTO whatsapp_status_events (twilio_sid, status, error_code, received_at)
  VALUES (:sid, :status, :error_code, :now)),
cur AS (SELECT id, status FROM whatsapp_outbound WHERE twilio_sid = :sid),
up AS (
  UPDATE whatsapp_outbound AS o
  SET status = :status, updated_at = :now, error_code = COALESCE(:error_code, o.error_code)
  FROM cur WHERE o.id = cur.id AND :rank >= ({ranks}))
SELECT count(*) FROM cur
""".format(ranks=_ranks("cur.status")))


class OutboundStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.is_postgres = engine.dialect.name == "postgresql"


    @property
    def autocommit(self) -> Engine:
        """`engine`'s autocommit sibling (`database.autocommit_engine`): one statement, one round trip."""
        return autocommit_engine(self.engine)
    def create(self, sender_id: str, inbox_id: Optional[int], kind: str, body: Optional[str],
               media_url: Optional[str], status: str = "sending", error_message: Optional[str] = None,
               reply_index: Optional[int] = None, template: Optional[TemplateRef] = None,
               template_state: Optional[str] = None) -> int:
        now = utcnow()
        with self.autocommit.begin() as conn:
            result = conn.execute(_CREATE, dict(
                sender_id=sender_id, inbox_id=inbox_id, kind=kind, body=body, media_url=media_url,
                status=status, error_message=error_message, attempts=0, created_at=now, updated_at=now,
                reply_index=reply_index, template_name=template.name if template else None,
                template_variables=template.content_variables if template else None,
                template_state=template_state if template else None))
            return int(result.inserted_primary_key[0])

    def by_sid(self, twilio_sid: str) -> Optional[OutboundRow]:
        with self.autocommit.connect() as conn:
            row = conn.execute(sa.select(outbound).where(outbound.c.twilio_sid == twilio_sid)).first()
        return self._row(row)

    def by_id(self, row_id: int) -> Optional[OutboundRow]:
        with self.autocommit.connect() as conn:
            row = conn.execute(sa.select(outbound).where(outbound.c.id == row_id)).first()
        return self._row(row)

    @staticmethod
    def _row(row: Optional[sa.Row]) -> Optional[OutboundRow]:
        if row is None:
            return None
        m = row._mapping
        return OutboundRow(m["id"], m["sender_id"], m["inbox_id"], m["kind"], m["body"],
                           TemplateRef.stored(m["template_name"], m["template_variables"]), m["template_state"])

    def claim_template_retry(self, row_id: int) -> bool:
        """True once per row that went free-form with a template offered: its one retry is ours."""
        with self.autocommit.begin() as conn:
            result = conn.execute(outbound.update().where(outbound.c.id == row_id,
                                                          outbound.c.template_state == OFFERED)
                                  .values(template_state=RETRIED, updated_at=utcnow()))
            return result.rowcount == 1

    def has_template_for(self, inbox_id: int, name: str) -> bool:
        """Did a reply of this inbound message already go as template `name` (the late-turn follow-up)?"""
        with self.autocommit.connect() as conn:
            return conn.execute(sa.select(outbound.c.id).where(
                outbound.c.inbox_id == inbox_id, outbound.c.template_name == name,
                outbound.c.template_state == SENT_AS_TEMPLATE).limit(1)).first() is not None

    def earlier_replies(self, inbox_id: int) -> Dict[int, EarlierReply]:
        """Per reply position of this inbound message, the latest row earlier attempts left."""
        with self.autocommit.connect() as conn:
            rows = conn.execute(
                sa.select(outbound.c.id, outbound.c.reply_index, outbound.c.body, outbound.c.status,
                          outbound.c.twilio_sid, outbound.c.created_at)
                .where(outbound.c.inbox_id == inbox_id, outbound.c.reply_index.is_not(None))
                .order_by(outbound.c.id)
            ).all()
        return {row.reply_index: EarlierReply(row.id, row.body, row.status, row.twilio_sid, row.created_at)
                for row in rows}

    def known_sids(self, sids: Iterable[str]) -> Set[str]:
        """Which of these Twilio SIDs some outbound row already holds."""
        wanted = list(sids)
        if not wanted:
            return set()
        with self.autocommit.connect() as conn:
            return set(conn.execute(sa.select(outbound.c.twilio_sid).where(outbound.c.twilio_sid.in_(wanted)))
                       .scalars())

    def mark_interrupted(self, row_id: int) -> None:
        """A send cut by a crash and not found at Twilio: superseded by the retry's own row."""
        with self.autocommit.begin() as conn:
            conn.execute(outbound.update().where(outbound.c.id == row_id, outbound.c.status == "sending").values(
                status="interrupted", error_message="send interrupted by a stopped worker; not found at "
                                                    "Twilio, sent again by the retry", updated_at=utcnow()))

    def record_attempt(self, row_id: int, attempts: int, error_code: Optional[int] = None,
                       error_message: Optional[str] = None) -> None:
        with self.autocommit.begin() as conn:
            conn.execute(outbound.update().where(outbound.c.id == row_id).values(
                attempts=attempts, error_code=error_code, error_message=error_message, updated_at=utcnow()))

    def record_accepted(self, row_id: int, twilio_sid: str, status: str, attempts: int) -> None:
        """Twilio accepted the message; callbacks that beat us here win if they are further along (one
        statement: the furthest callback already seen is read in it)."""
        if self.is_postgres:
            with self.autocommit.connect() as conn:
                conn.execute(_RECORD_ACCEPTED, dict(id=row_id, sid=twilio_sid, attempts=attempts, now=utcnow(),
                                                    status=status, rank=_rank(status)))
            return
        furthest = _furthest_seen(twilio_sid)
        beaten = sa.select(furthest.c.rank).scalar_subquery() >= _rank(status)
        with self.autocommit.begin() as conn:
            conn.execute(outbound.update().where(outbound.c.id == row_id).values(
                twilio_sid=twilio_sid, attempts=attempts, error_message=None, updated_at=utcnow(),
                status=sa.case((beaten, sa.select(furthest.c.status).scalar_subquery()), else_=status),
                error_code=sa.case((beaten, sa.select(furthest.c.error_code).scalar_subquery()), else_=None)))

    def record_failed(self, row_id: int, attempts: int, error_code: Optional[int], error_message: str) -> None:
        with self.autocommit.begin() as conn:
            conn.execute(outbound.update().where(outbound.c.id == row_id).values(
                status="failed", attempts=attempts, error_code=error_code, error_message=error_message,
                updated_at=utcnow()))

    def record_status(self, twilio_sid: str, status: str, error_code: Optional[int]) -> bool:
        """Append the callback; move the outbound row forward. False when no row has this SID (yet)."""
        now = utcnow()
        if self.is_postgres:
            with self.autocommit.connect() as conn:
                return bool(conn.execute(_RECORD_STATUS, dict(sid=twilio_sid, status=status, error_code=error_code,
                                                              now=now, rank=_rank(status))).scalar())
        with self.engine.begin() as conn:
            conn.execute(status_events.insert().values(
                twilio_sid=twilio_sid, status=status, error_code=error_code, received_at=now))
            current = conn.execute(
                sa.select(outbound.c.id, outbound.c.status).where(outbound.c.twilio_sid == twilio_sid)
            ).first()
            if current is None:
                return False
            if _rank(status) >= _rank(current.status):
                values = {"status": status, "updated_at": now}
                if error_code is not None:
                    values["error_code"] = error_code
                conn.execute(outbound.update().where(outbound.c.id == current.id).values(**values))
            return True
