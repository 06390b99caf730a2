"""Analytics views over `events` and the WhatsApp channel's tables (m0002), on Postgres and SQLite.

Frozen copy of the view definitions at this version (a change gets a new migration that replaces them).
Days are UTC calendar days of the event's Unix timestamp. A turn's processing time runs from the
user event to the last bot event before the sender's next user event. Facts our actions put in a bot
event's metadata (`BotUttered.as_dict()["metadata"]`): `error.type` ("booking_api.unavailable",
"validation.fecha"...), `phrasing.reason` (why the template was used instead of the LLM: "timeout"...),
`event` ("booking_created"). The fallback threshold of `intent_stats` is read from config.yml's
FallbackClassifier at migration time (0.55 when absent); `analytics.intent_stats` takes any threshold.
SQLite has no percentile aggregate: its `conversation_stats.p95_processing_seconds` is NULL and
`analytics.conversation_stats` computes it from `turn_latency`.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

CONFIG_PATH = Path(__file__).resolve().parents[3] / "config.yml"
DEFAULT_THRESHOLD = 0.55
VIEWS = ["user_conversation_stats", "error_stats", "intent_stats", "conversation_stats", "turn_latency"]


def fallback_threshold(path: Path = CONFIG_PATH) -> float:
    """FallbackClassifier's `threshold` in config.yml, or 0.55."""
    try:
        import yaml

        config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, ValueError):
        return DEFAULT_THRESHOLD
    for component in config.get("pipeline") or []:
        if isinstance(component, dict) and component.get("name") == "FallbackClassifier":
            return float(component.get("threshold", DEFAULT_THRESHOLD))
    return DEFAULT_THRESHOLD


def _dialect(conn: Connection) -> dict:
    if conn.dialect.name == "postgresql":
        return {
            "js": lambda *path: f"(data::jsonb #>> '{{{','.join(path)}}}')",
            "num": lambda expr: f"CAST({expr} AS DOUBLE PRECISION)",
            "day": lambda col: f"(to_timestamp({col}) AT TIME ZONE 'UTC')::date",
            "tsday": lambda col: f"CAST({col} AS DATE)",
            "p95": "percentile_cont(0.95) WITHIN GROUP (ORDER BY t.seconds)",
            "agg": "string_agg(DISTINCT e.intent_name, ',' ORDER BY e.intent_name)",
            "text": lambda expr: f"CAST({expr} AS TEXT)",
            "ts": lambda col: f"to_timestamp({col}) AT TIME ZONE 'UTC'",
        }
    return {
        "js": lambda *path: f"json_extract(data, '$.{'.'.join(path)}')",
        "num": lambda expr: f"CAST({expr} AS REAL)",
        "day": lambda col: f"date({col}, 'unixepoch')",
        "tsday": lambda col: f"date({col})",
        "p95": "NULL",
        "agg": "group_concat(DISTINCT e.intent_name)",
        "text": lambda expr: f"CAST({expr} AS TEXT)",
        "ts": lambda col: f"datetime({col}, 'unixepoch')",
    }


def view_sql(conn: Connection, threshold: float) -> dict:
    d = _dialect(conn)
    js, num, day, p95 = d["js"], d["num"], d["day"], d["p95"]
    return {
        "turn_latency": f"""
            SELECT u.id AS user_event_id, u.sender_id, u.timestamp AS user_ts, {day("u.timestamp")} AS day,
                   (SELECT MAX(b.timestamp) FROM events b
                     WHERE b.sender_id = u.sender_id AND b.type_name = 'bot' AND b.id > u.id
                       AND (u.next_user_id IS NULL OR b.id < u.next_user_id)) - u.timestamp AS seconds
              FROM (SELECT id, sender_id, timestamp,
                           LEAD(id) OVER (PARTITION BY sender_id ORDER BY id) AS next_user_id
                      FROM events WHERE type_name = 'user') u""",
        "conversation_stats": f"""
            SELECT m.day, m.conversations, m.sessions, m.messages_in, m.messages_out, m.unique_users,
                   (SELECT AVG(t.seconds) FROM turn_latency t WHERE t.day = m.day) AS avg_processing_seconds,
                   (SELECT {p95} FROM turn_latency t WHERE t.day = m.day) AS p95_processing_seconds
              FROM (SELECT {day("timestamp")} AS day,
                           COUNT(DISTINCT sender_id) AS conversations,
                           SUM(CASE WHEN type_name = 'session_started' THEN 1 ELSE 0 END) AS sessions,
                           SUM(CASE WHEN type_name = 'user' THEN 1 ELSE 0 END) AS messages_in,
                           SUM(CASE WHEN type_name = 'bot' THEN 1 ELSE 0 END) AS messages_out,
                           COUNT(DISTINCT CASE WHEN type_name = 'user' THEN sender_id END) AS unique_users
                      FROM events WHERE type_name IN ('user', 'bot', 'session_started')
                     GROUP BY {day("timestamp")}) m""",
        "intent_stats": f"""
            SELECT intent_name AS intent, COUNT(*) AS messages, AVG(confidence) AS avg_confidence,
                   AVG(CASE WHEN confidence < {threshold!r} THEN 1.0 ELSE 0.0 END) AS share_below_threshold,
                   {threshold!r} AS threshold
              FROM (SELECT intent_name, {num(js("parse_data", "intent", "confidence"))} AS confidence
                      FROM events WHERE type_name = 'user' AND intent_name IS NOT NULL) x
             GROUP BY intent_name""",
        "error_stats": f"""
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
                  FROM whatsapp_outbound WHERE status = 'failed'
                UNION ALL
                SELECT {d["tsday"]("received_at")}, 'rate_limited', 'rate_limited'
                  FROM whatsapp_inbox WHERE status = 'rate_limited'
            ) errors GROUP BY day, source, error_type""",
        "user_conversation_stats": f"""
            SELECT e.sender_id,
                   SUM(CASE WHEN e.type_name = 'user' THEN 1 ELSE 0 END) AS messages_in,
                   SUM(CASE WHEN e.type_name = 'bot' THEN 1 ELSE 0 END) AS messages_out,
                   {d["ts"]("MIN(e.timestamp)")} AS first_seen,
                   {d["ts"]("MAX(e.timestamp)")} AS last_seen,
                   COUNT(DISTINCT e.intent_name) AS distinct_intents,
                   {d["agg"]} AS intents,
                   SUM(CASE WHEN e.type_name = 'bot' AND {js("metadata", "event")} = 'booking_created'
                            THEN 1 ELSE 0 END) AS bookings
              FROM events e WHERE e.type_name IN ('user', 'bot')
             GROUP BY e.sender_id""",
    }


def upgrade(conn: Connection) -> None:
    for name in VIEWS:  # dependents first
        conn.execute(sa.text(f"DROP VIEW IF EXISTS {name}"))
    definitions = view_sql(conn, fallback_threshold())
    for name in reversed(VIEWS):
        conn.execute(sa.text(f"CREATE VIEW {name} AS {definitions[name]}"))
