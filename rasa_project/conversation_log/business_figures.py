"""Rows of the owner's figures (migration m0007) as plain dicts, the same on Postgres and SQLite.

The views compute everything; this module only orders the rows and evens out what the dialects return
(days as ISO strings, counts as int, shares and amounts as float rounded like money), so the CLI, the
charts and the tests read one shape. Definitions (what a conversation, a fallback or an offer is) are
in the migration's docstring and docs/conversation-log.md.
"""

from __future__ import annotations

from typing import Callable, Dict, Iterable, List, Optional

from sqlalchemy.engine import Engine

from rasa_project.conversation_log.analytics import Row, read_rows

PERIODS = ("day", "week", "month")


def _floats(rows: List[Row], columns: Iterable[str], digits: Optional[int] = None) -> List[Row]:
    """SQLite hands back an int where Postgres has a numeric (0 vs 0.0, 1200 vs 1200.00)."""
    for row in rows:
        for column in columns:
            if row.get(column) is not None:
                value = float(row[column])
                row[column] = round(value, digits) if digits is not None else value
    return rows


def conversion_stats(engine: Engine) -> List[Row]:
    """Per UTC day: bookings, reschedules, cancellations and payment links the bot made, each with the
    conversations (sessions) that led to them; purchases paid among that day's links (as of the last
    purchase sync) with their amount and currency; the booking funnel's shares of `booking_starts`."""
    rows = read_rows(engine, "SELECT * FROM conversion_stats ORDER BY day")
    _floats(rows, ["amount_paid"], 2)
    return _floats(rows, ["offered_share", "confirmed_share", "booked_share"])


def revenue_stats(engine: Engine) -> List[Row]:
    """Per UTC day (of the link) and currency: purchases paid, their amount, the conversations behind them."""
    return _floats(read_rows(engine, "SELECT * FROM revenue_stats ORDER BY day, currency"), ["amount_paid"], 2)


def booking_funnel(engine: Engine) -> List[Row]:
    """Per UTC day, of the conversations whose first message asked to book: started, offered a slot,
    confirmed it, booked."""
    return read_rows(engine, "SELECT * FROM booking_funnel ORDER BY day")


def active_users(engine: Engine, period: Optional[str] = None) -> List[Row]:
    """Clients (senders with a user message) per day, ISO week and month (or just `period`), with those
    whose first message ever falls in the period (new) and the others (returning)."""
    if period is not None and period not in PERIODS:
        raise ValueError(f"period must be one of {PERIODS}, not {period!r}")
    order = "CASE period WHEN 'day' THEN 1 WHEN 'week' THEN 2 ELSE 3 END, period_start"
    if period is None:
        return read_rows(engine, f"SELECT * FROM active_users ORDER BY {order}")
    return read_rows(engine, f"SELECT * FROM active_users WHERE period = :p ORDER BY {order}", p=period)


def satisfaction_stats(engine: Engine) -> List[Row]:
    """Per UTC day and intent rated: ratings asked, 1–5 ratings given, their average, the response rate."""
    rows = read_rows(engine, "SELECT * FROM satisfaction_stats ORDER BY day, intent")
    return _floats(rows, ["avg_rating", "response_rate"])


def containment(engine: Engine) -> List[Row]:
    """Per UTC day: conversations, those the bot handled alone (no handoff, no two fallbacks in a row)."""
    return _floats(read_rows(engine, "SELECT * FROM containment ORDER BY day"), ["containment_rate"])


REPORTS: Dict[str, Callable[[Engine], List[Row]]] = {
    "conversions": conversion_stats,
    "revenue": revenue_stats,
    "funnel": booking_funnel,
    "active": active_users,
    "satisfaction": satisfaction_stats,
    "containment": containment,
}
