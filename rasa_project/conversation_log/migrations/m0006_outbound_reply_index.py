"""`whatsapp_outbound.reply_index`: the position of a reply within the turn of its inbound message.

A turn retried after a crash runs again and produces its replies again; the n-th reply of the retry
stands for the n-th reply of the earlier attempt, so one Twilio already accepted is not sent twice
(see `connectors/whatsapp/replay.py`). NULL for proactive messages and rows written before this
migration. `(inbox_id, reply_index)` serves the lookup a retry makes.
"""

import sqlalchemy as sa
from sqlalchemy.engine import Connection


def upgrade(conn: Connection) -> None:
    conn.execute(sa.text("ALTER TABLE whatsapp_outbound ADD COLUMN reply_index INTEGER"))
    conn.execute(sa.text("CREATE INDEX IF NOT EXISTS ix_whatsapp_outbound_inbox_reply "
                         "ON whatsapp_outbound (inbox_id, reply_index)"))
