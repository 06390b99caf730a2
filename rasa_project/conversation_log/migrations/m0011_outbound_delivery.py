"""Outbound delivery rules (docs/whatsapp-window.md): the client's medium and undeliverable mark, the
template an outbound message may go as, and `error_stats` counting every outbound error code.

Frozen copy at this version (queries use `connectors/whatsapp/tables.py`, which must match):
- `whatsapp_senders.medium` (whatsapp | sms, NULL = whatsapp for rows written before), `undeliverable_at`
  and `undeliverable_code` (63003, 63024, 21610, 63014: proactive messages stop until the client writes);
- `whatsapp_outbound.template_name`, `template_variables` (JSON), `template_state`: `offered` (sent free-form
  inside the window, the template is its retry when Twilio answers 63016), `sent` (went as the template),
  `retried` (its one template retry went out).
- `error_stats` as in m0005, plus `undelivered` rows with a code (`outbound_failed` too) and rows the channel
  did not send (`outbound_skipped`, by reason: outside the window, undeliverable).
"""

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rasa_project.conversation_log.migrations.m0005_analytics import _dialect

COLUMNS = [
    ("whatsapp_senders", "medium", "VARCHAR(10)"),
    ("whatsapp_senders", "undeliverable_at", "TIMESTAMP"),
    ("whatsapp_senders", "undeliverable_code", "INTEGER"),
    ("whatsapp_outbound", "template_name", "VARCHAR(100)"),
    ("whatsapp_outbound", "template_variables", "TEXT"),
    ("whatsapp_outbound", "template_state", "VARCHAR(20)"),
]


def error_stats_sql(conn: Connection) -> str:
    d = _dialect(conn)
    js, day = d["js"], d["day"]
    reason = "CASE WHEN error_message LIKE 'outside_window%' THEN 'outside_window' ELSE error_message END"
    return f"""
        SELECT day, source, error_type, COUNT(*) AS errors FROM (
            SELECT {day("timestamp")} AS day,
                   CASE WHEN {js("metadata", "error", "type")} LIKE 'validation%' THEN 'validation'
                        ELSE 'internal_api' END AS source,
                   {js("metadata", "error", "type")} AS error_type
              FROM events WHERE type_name = 'bot' AND {js("metadata", "error", "type")} IS NOT NULL
            UNION ALL
            SELECT {day("timestamp")}, 'llm_fallback', {js("metadata", "phrasing", "reason")}
              FROM events WHERE type_name = 'bot' AND {js("metadata", "phrasing", "reason")} IS NOT NULL
               AND {js("metadata", "phrasing", "reason")} NOT IN ('llm', 'ok')
            UNION ALL
            SELECT {d["tsday"]("created_at")}, 'outbound_failed', COALESCE({d["text"]("error_code")}, 'unknown')
              FROM whatsapp_outbound
             WHERE status = 'failed' OR (status = 'undelivered' AND error_code IS NOT NULL)
            UNION ALL
            SELECT {d["tsday"]("created_at")}, 'outbound_skipped', {reason}
              FROM whatsapp_outbound WHERE status = 'skipped'
            UNION ALL
            SELECT {d["tsday"]("received_at")}, 'rate_limited', 'rate_limited'
              FROM whatsapp_inbox WHERE status = 'rate_limited'
        ) errors GROUP BY day, source, error_type"""


def upgrade(conn: Connection) -> None:
    for table, column, kind in COLUMNS:
        conn.execute(sa.text(f"ALTER TABLE {table} ADD COLUMN {column} {kind}"))
    conn.execute(sa.text("DROP VIEW IF EXISTS error_stats"))  # nothing depends on it (m0005's VIEWS order)
    conn.execute(sa.text(f"CREATE VIEW error_stats AS {error_stats_sql(conn)}"))
