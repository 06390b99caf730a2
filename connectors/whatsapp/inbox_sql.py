"""The inbox's SQL, apart from the store's logic (`inbox_store.py`): on Postgres each of its methods is ONE
statement (issue 13's round trips), written here as text where SQLAlchemy's expression would cost more
to build than to run, and the hot path's Core statements built once (executed with new parameters they
reuse their memoized cache key; rebuilt per call, each cost ~0.3 ms of CPU).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from connectors.whatsapp.tables import inbox

# accept: the row, the sender's upsert and (with `{notify}`) the NOTIFY, in one statement
ACCEPT = """
WITH ins AS (
  INSERT INTO whatsapp_inbox (message_sid, sender_id, received_at, body, metadata, public_base_url, status, attempts)
  VALUES (:message_sid, :sender_id, :now, :body, :metadata, :public_base_url, 'pending', 0)
  ON CONFLICT (message_sid) DO NOTHING
  RETURNING id, sender_id),
up AS (
  INSERT INTO whatsapp_senders (sender_id, profile_name, opted_out, last_inbound_at, medium)
  SELECT sender_id, :profile_name, false, :now, :medium FROM ins
  ON CONFLICT (sender_id) DO UPDATE SET profile_name = EXCLUDED.profile_name, last_inbound_at = :now,
    medium = :medium, undeliverable_at = NULL, undeliverable_code = NULL)
SELECT id{notify} FROM ins
"""

# claim: lock, claim and read what the turn needs (the gate's state, the delivery state, the rate-limit
# count, whether more messages wait)
CLAIM = sa.text("""
WITH oldest AS (
  SELECT * FROM whatsapp_inbox
  WHERE id = (SELECT min(id) FROM whatsapp_inbox WHERE sender_id = :sender_id AND status IN ('pending', 'processing'))
    AND status IN ('pending', 'processing')
  FOR UPDATE SKIP LOCKED),
claimed AS (
  UPDATE whatsapp_inbox AS i
  SET status = 'processing', lease_owner = :owner, lease_until = :until, attempts = o.attempts + 1
  FROM oldest AS o
  WHERE i.id = o.id
    AND ((o.status = 'pending' AND (o.next_attempt_at IS NULL OR o.next_attempt_at <= :now))
      OR (o.status = 'processing' AND (o.lease_until IS NULL OR o.lease_until <= :now)))
  RETURNING i.id)
SELECT o.*, EXISTS (SELECT 1 FROM claimed) AS claimed, s.sender_id AS s_sender_id, s.opted_out AS s_opted_out,
  s.last_buttons AS s_last_buttons, s.rate_limit_notified_at AS s_rate_limit_notified_at,
  s.medium AS s_medium, s.last_inbound_at AS s_last_inbound_at, s.undeliverable_code AS s_undeliverable_code,
  s.profile_name AS s_profile_name,
  (SELECT count(*) FROM whatsapp_inbox AS r
   WHERE r.sender_id = o.sender_id AND r.id < o.id AND r.received_at > o.received_at - make_interval(secs => :window)
     AND r.message_sid NOT LIKE :proactive) AS recent,
  EXISTS (SELECT 1 FROM whatsapp_inbox AS m
          WHERE m.sender_id = o.sender_id AND m.id > o.id AND m.status IN ('pending', 'processing')) AS more
FROM oldest AS o LEFT JOIN whatsapp_senders AS s ON s.sender_id = o.sender_id
""")

BOT_TEXT_CLEARING_OPTIONS = sa.text("""
WITH b AS (UPDATE whatsapp_inbox SET bot_text = :bot_text WHERE id = :id AND lease_owner = :owner)
UPDATE whatsapp_senders SET last_buttons = NULL WHERE sender_id = :sender_id
""")


# the hot path's Core statements, built once
SET_BOT_TEXT = (inbox.update()
                .where(inbox.c.id == sa.bindparam("row_id"), inbox.c.lease_owner == sa.bindparam("owner"))
                .values(bot_text=sa.bindparam("bot_text")))


def finish_update(row_id: Any, owner: Any, status: Any, now: Any, error: Any) -> sa.sql.Update:
    """A row's final status, its lease dropped: with values (the tracker save runs it along) or bound
    parameters (`FINISH`)."""
    return (inbox.update().where(inbox.c.id == row_id, inbox.c.lease_owner == owner)
            .values(status=status, lease_owner=None, lease_until=None, processed_at=now, last_error=error))


FINISH = finish_update(*(sa.bindparam(name) for name in ("row_id", "owner", "status", "now", "error")))
