"""Rows of the analytics views (migration m0005) as plain dicts, the same on Postgres and SQLite.

Postgres computes everything in the views; SQLite lacks a percentile aggregate, so the p95 of
`conversation_stats` is filled in here from `turn_latency`. Values are normalised (days as ISO
strings, numbers as float/int) so the CLI, tests and charts need not care about the dialect.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any, Callable, Dict, List, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from rasa_project.conversation_log.migrations.m0005_analytics import fallback_threshold

Row = Dict[str, Any]


def _normalise(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.datetime):
        return value.replace(microsecond=0).isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def read_rows(engine: Engine, sql: str, **params: Any) -> List[Row]:
    """`sql`'s rows as dicts of normalised values (the one way every reader of the views queries)."""
    with engine.connect() as conn:
        result = conn.execute(sa.text(sql), params)
        return [{k: _normalise(v) for k, v in row._mapping.items()} for row in result]


def _percentile(values: List[float], q: float) -> Optional[float]:
    """Linear interpolation, as Postgres' `percentile_cont`."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low, high = math.floor(pos), math.ceil(pos)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def conversation_stats(engine: Engine) -> List[Row]:
    """Per UTC day: conversations (distinct senders), sessions, messages in/out, unique users,
    average and p95 processing time in seconds (user event -> last bot event of the turn)."""
    rows = read_rows(engine, "SELECT * FROM conversation_stats ORDER BY day")
    if engine.dialect.name != "postgresql":
        latencies: Dict[str, List[float]] = {}
        for item in read_rows(engine, "SELECT day, seconds FROM turn_latency WHERE seconds IS NOT NULL"):
            latencies.setdefault(str(item["day"]), []).append(float(item["seconds"]))
        for row in rows:
            row["p95_processing_seconds"] = _percentile(latencies.get(str(row["day"]), []), 0.95)
    return rows


def intent_stats(engine: Engine, threshold: Optional[float] = None) -> List[Row]:
    """Per intent: messages, average confidence, share below the fallback threshold (config.yml's
    FallbackClassifier when `threshold` is None, as baked into the view)."""
    if threshold is None or threshold == fallback_threshold():
        return read_rows(engine, "SELECT * FROM intent_stats ORDER BY messages DESC, intent")
    confidence = (
        "CAST(data::jsonb #>> '{parse_data,intent,confidence}' AS DOUBLE PRECISION)"
        if engine.dialect.name == "postgresql"
        else "CAST(json_extract(data, '$.parse_data.intent.confidence') AS REAL)"
    )
    return read_rows(
        engine,
        f"""SELECT intent_name AS intent, COUNT(*) AS messages, AVG(c) AS avg_confidence,
                   AVG(CASE WHEN c < :t THEN 1.0 ELSE 0.0 END) AS share_below_threshold, :t AS threshold
              FROM (SELECT intent_name, {confidence} AS c FROM events
                     WHERE type_name = 'user' AND intent_name IS NOT NULL) x
             GROUP BY intent_name ORDER BY messages DESC, intent""",
        t=float(threshold),
    )


def error_stats(engine: Engine) -> List[Row]:
    """Per UTC day, source (internal_api, validation, llm_fallback, outbound_failed, rate_limited)
    and error type: the count."""
    return read_rows(engine, "SELECT * FROM error_stats ORDER BY day, source, error_type")


def user_conversation_stats(engine: Engine, sender: Optional[str] = None) -> List[Row]:
    """Per sender (or just `sender`): messages in/out, first/last seen (UTC), intents used, bookings."""
    if sender is None:
        rows = read_rows(engine, "SELECT * FROM user_conversation_stats ORDER BY last_seen DESC, sender_id")
    else:
        rows = read_rows(engine, "SELECT * FROM user_conversation_stats WHERE sender_id = :s", s=sender)
    for row in rows:  # SQLite's group_concat(DISTINCT ...) has no ORDER BY
        row["intents"] = ",".join(sorted((row.get("intents") or "").split(","))).strip(",")
    return rows


REPORTS: Dict[str, Callable[[Engine], List[Row]]] = {
    "conversations": conversation_stats,
    "intents": intent_stats,
    "errors": error_stats,
    "users": user_conversation_stats,
}
