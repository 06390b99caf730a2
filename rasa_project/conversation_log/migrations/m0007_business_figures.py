"""The owner's figures: conversions, the booking funnel, active clients, ratings, containment.

Frozen copy of the view definitions at this version (a change gets a new migration that replaces them),
on Postgres and SQLite. Days are UTC calendar days of the event's Unix timestamp, as in m0005.

A conversation is a session: a sender's events from one `session_started` to the next (events before a
sender's first `session_started` are session 0), keyed `session_key = "<sender_id>#<n>"`; only sessions
with at least one user message count, on the day of their first user message. A turn is a user message
and everything logged until the sender's next one.

What the views read, as the actions log it (`actions/replies.py` puts it on each bot message):
- `metadata.event` and `metadata.facts`: booking_created / booking_rescheduled (`facts.booking.id`),
  booking_cancelled (`facts.reserva_id`), purchase_created / purchase_link_resent (`facts.purchase.id`),
  satisfaction_asked (`facts.sobre`), satisfaction_rated (`facts.valoracion` 1..5, `facts.sobre`),
  handoff_started.
- the booking form's confirmation question: a bot message whose `metadata.utter_action` (Rasa's own
  responses) or `metadata.template_name` (our Replier) is `utter_ask_confirmar_reserva`; the client
  confirmed when their next message in the session has intent `afirmar`.
- a fallback turn: the user intent is `nlu_fallback` (FallbackClassifier), the turn ran
  `action_default_fallback` (core fallback) or the bot answered `utter_default` (the rule for
  nlu_fallback, and the FAQ without a confident topic).

`purchase_outcomes` holds what the booking API says became of each payment link, written by
`rasa_project.conversation_log.purchase_outcomes.sync_purchase_outcomes`: the bot only sends links, so
"completed" is never read from the conversation.
"""

from __future__ import annotations

from typing import Callable, Dict

import sqlalchemy as sa
from sqlalchemy.engine import Connection

HELPERS = ["purchase_links", "business_events", "conversation_sessions", "conversation_turns", "session_events"]
FIGURES = ["conversion_stats", "revenue_stats", "booking_funnel", "containment", "active_users", "satisfaction_stats"]
VIEWS = FIGURES + HELPERS  # dependents first

OFFER_TEMPLATE = "utter_ask_confirmar_reserva"
FALLBACK_TEMPLATE = "utter_default"
COUNTED_EVENTS = ("booking_created", "booking_rescheduled", "booking_cancelled", "purchase_created",
                  "purchase_link_resent")
LINK_EVENTS = ("purchase_created", "purchase_link_resent")


def _dialect(conn: Connection) -> Dict[str, Callable[..., str]]:
    if conn.dialect.name == "postgresql":
        utc = "to_timestamp({}) AT TIME ZONE 'UTC'"
        return {
            "js": lambda *path: f"(data::jsonb #>> '{{{','.join(path)}}}')",
            "text": lambda expr: f"CAST({expr} AS TEXT)",
            "day": lambda col: f"CAST({utc.format(col)} AS DATE)",
            "week": lambda col: f"CAST(date_trunc('week', {utc.format(col)}) AS DATE)",
            "month": lambda col: f"CAST(date_trunc('month', {utc.format(col)}) AS DATE)",
        }
    return {
        "js": lambda *path: f"json_extract(data, '$.{'.'.join(path)}')",
        "text": lambda expr: f"CAST({expr} AS TEXT)",
        "day": lambda col: f"date({col}, 'unixepoch')",
        "week": lambda col: f"date({col}, 'unixepoch', 'weekday 0', '-6 days')",  # the ISO week's Monday
        "month": lambda col: f"date({col}, 'unixepoch', 'start of month')",
    }


def _in(values: tuple) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def view_sql(conn: Connection) -> Dict[str, str]:
    d = _dialect(conn)
    js, text, day = d["js"], d["text"], d["day"]
    rating = text(js("metadata", "facts", "valoracion"))
    periods = " UNION ALL ".join(
        f"""SELECT '{name}' AS period, {d[name]("u.timestamp")} AS period_start, u.sender_id,
                   MAX(CASE WHEN {d[name]("u.timestamp")} = {d[name]("u.first_ts")} THEN 1 ELSE 0 END) AS is_new
              FROM (SELECT sender_id, timestamp, MIN(timestamp) OVER (PARTITION BY sender_id) AS first_ts
                      FROM events WHERE type_name = 'user') u
             GROUP BY {d[name]("u.timestamp")}, u.sender_id"""
        for name in ("day", "week", "month")
    )
    return {
        "session_events": f"""
            SELECT x.id, x.sender_id, x.session_no, x.sender_id || '#' || {text("x.session_no")} AS session_key,
                   x.turn_no, x.type_name, x.timestamp AS ts, {day("x.timestamp")} AS day,
                   x.intent_name AS intent, x.action_name AS action,
                   CASE WHEN x.type_name = 'bot' THEN {js("metadata", "event")} END AS event,
                   CASE WHEN x.type_name = 'bot' THEN COALESCE({js("metadata", "template_name")},
                                                               {js("metadata", "utter_action")}) END AS template,
                   x.data
              FROM (SELECT id, sender_id, type_name, timestamp, intent_name, action_name, data,
                           SUM(CASE WHEN type_name = 'session_started' THEN 1 ELSE 0 END)
                               OVER (PARTITION BY sender_id ORDER BY id) AS session_no,
                           SUM(CASE WHEN type_name = 'user' THEN 1 ELSE 0 END)
                               OVER (PARTITION BY sender_id ORDER BY id) AS turn_no
                      FROM events WHERE type_name IN ('user', 'bot', 'action', 'session_started')) x
             WHERE x.type_name <> 'session_started'""",
        "conversation_turns": f"""
            SELECT g.sender_id, g.session_key, g.turn_no, g.day, g.intent, g.fallback, g.offered, g.booked, g.handoff,
                   FIRST_VALUE(g.intent) OVER (PARTITION BY g.session_key ORDER BY g.turn_no) AS first_intent,
                   LEAD(g.intent) OVER (PARTITION BY g.session_key ORDER BY g.turn_no) AS next_intent,
                   LEAD(g.fallback) OVER (PARTITION BY g.session_key ORDER BY g.turn_no) AS next_fallback
              FROM (SELECT sender_id, session_key, turn_no,
                           MAX(CASE WHEN type_name = 'user' THEN day END) AS day,
                           MAX(CASE WHEN type_name = 'user' THEN intent END) AS intent,
                           MAX(CASE WHEN (type_name = 'user' AND intent = 'nlu_fallback')
                                      OR (type_name = 'action' AND action = 'action_default_fallback')
                                      OR (type_name = 'bot' AND template = '{FALLBACK_TEMPLATE}')
                                    THEN 1 ELSE 0 END) AS fallback,
                           MAX(CASE WHEN type_name = 'bot' AND template = '{OFFER_TEMPLATE}'
                                    THEN 1 ELSE 0 END) AS offered,
                           MAX(CASE WHEN event = 'booking_created' THEN 1 ELSE 0 END) AS booked,
                           MAX(CASE WHEN event = 'handoff_started' THEN 1 ELSE 0 END) AS handoff
                      FROM session_events WHERE turn_no > 0
                     GROUP BY sender_id, session_key, turn_no
                    HAVING SUM(CASE WHEN type_name = 'user' THEN 1 ELSE 0 END) > 0) g""",
        "business_events": f"""
            SELECT id, sender_id, session_key, day, ts, event,
                   COALESCE({js("metadata", "facts", "booking", "id")},
                            {js("metadata", "facts", "reserva_id")}) AS booking_id,
                   {js("metadata", "facts", "purchase", "id")} AS purchase_id,
                   CASE WHEN {rating} IN ('1', '2', '3', '4', '5') THEN CAST({rating} AS INTEGER) END AS rating,
                   {js("metadata", "facts", "sobre")} AS about
              FROM session_events WHERE type_name = 'bot' AND event IS NOT NULL""",
        "conversation_sessions": """
            SELECT session_key, MIN(sender_id) AS sender_id, MIN(day) AS day, MIN(first_intent) AS first_intent,
                   COUNT(*) AS user_messages, MAX(offered) AS offered,
                   MAX(CASE WHEN offered = 1 AND next_intent = 'afirmar' THEN 1 ELSE 0 END) AS confirmed,
                   MAX(booked) AS booked, MAX(handoff) AS handoff,
                   MAX(CASE WHEN fallback = 1 AND next_fallback = 1 THEN 1 ELSE 0 END) AS repeated_fallback
              FROM conversation_turns GROUP BY session_key""",
        "purchase_links": f"""
            SELECT purchase_id, sender_id, session_key, day, ts AS first_sent_ts, links_sent
              FROM (SELECT purchase_id, sender_id, session_key, day, ts,
                           ROW_NUMBER() OVER (PARTITION BY purchase_id ORDER BY id) AS n,
                           COUNT(*) OVER (PARTITION BY purchase_id) AS links_sent
                      FROM business_events
                     WHERE event IN {_in(LINK_EVENTS)} AND purchase_id IS NOT NULL) l
             WHERE n = 1""",
        "satisfaction_stats": """
            SELECT day, about AS intent,
                   SUM(CASE WHEN event = 'satisfaction_asked' THEN 1 ELSE 0 END) AS asked,
                   SUM(CASE WHEN event = 'satisfaction_rated' THEN 1 ELSE 0 END) AS ratings,
                   AVG(CASE WHEN event = 'satisfaction_rated' THEN rating END) AS avg_rating,
                   SUM(CASE WHEN event = 'satisfaction_rated' THEN 1 ELSE 0 END) * 1.0
                     / NULLIF(SUM(CASE WHEN event = 'satisfaction_asked' THEN 1 ELSE 0 END), 0) AS response_rate
              FROM business_events
             WHERE event = 'satisfaction_asked' OR (event = 'satisfaction_rated' AND rating IS NOT NULL)
             GROUP BY day, about""",
        "active_users": f"""
            SELECT period, period_start, COUNT(*) AS clients, SUM(is_new) AS new_clients,
                   COUNT(*) - SUM(is_new) AS returning_clients
              FROM ({periods}) p
             GROUP BY period, period_start""",
        "containment": """
            SELECT day, COUNT(*) AS conversations,
                   SUM(CASE WHEN handoff = 0 AND repeated_fallback = 0 THEN 1 ELSE 0 END) AS contained,
                   SUM(handoff) AS handoffs, SUM(repeated_fallback) AS repeated_fallbacks,
                   AVG(CASE WHEN handoff = 0 AND repeated_fallback = 0 THEN 1.0 ELSE 0.0 END) AS containment_rate
              FROM conversation_sessions GROUP BY day""",
        "booking_funnel": """
            SELECT day, COUNT(*) AS started, SUM(offered) AS offered, SUM(confirmed) AS confirmed,
                   SUM(booked) AS booked
              FROM conversation_sessions WHERE first_intent = 'agendar_cita' GROUP BY day""",
        "revenue_stats": """
            SELECT l.day, o.currency, COUNT(*) AS purchases_paid, SUM(o.amount) AS amount_paid,
                   COUNT(DISTINCT l.session_key) AS conversations
              FROM purchase_links l JOIN purchase_outcomes o ON o.purchase_id = l.purchase_id
             WHERE o.status = 'paid'
             GROUP BY l.day, o.currency""",
        "conversion_stats": f"""
            SELECT d.day,
                   COALESCE(b.bookings, 0) AS bookings, COALESCE(b.booking_conversations, 0) AS booking_conversations,
                   COALESCE(b.reschedules, 0) AS reschedules,
                   COALESCE(b.reschedule_conversations, 0) AS reschedule_conversations,
                   COALESCE(b.cancellations, 0) AS cancellations,
                   COALESCE(b.cancellation_conversations, 0) AS cancellation_conversations,
                   COALESCE(b.links_sent, 0) AS links_sent, COALESCE(b.link_conversations, 0) AS link_conversations,
                   COALESCE(p.purchases_paid, 0) AS purchases_paid,
                   COALESCE(p.paid_conversations, 0) AS paid_conversations,
                   CASE WHEN p.day IS NULL THEN 0 ELSE p.amount_paid END AS amount_paid, p.currency,
                   COALESCE(u.unchecked, 0) AS purchases_unchecked,
                   COALESCE(f.started, 0) AS booking_starts,
                   f.offered * 1.0 / NULLIF(f.started, 0) AS offered_share,
                   f.confirmed * 1.0 / NULLIF(f.started, 0) AS confirmed_share,
                   f.booked * 1.0 / NULLIF(f.started, 0) AS booked_share
              FROM (SELECT day FROM business_events WHERE event IN {_in(COUNTED_EVENTS)}
                    UNION SELECT day FROM booking_funnel) d
              LEFT JOIN (SELECT day,
                                SUM(CASE WHEN event = 'booking_created' THEN 1 ELSE 0 END) AS bookings,
                                COUNT(DISTINCT CASE WHEN event = 'booking_created' THEN session_key END)
                                    AS booking_conversations,
                                SUM(CASE WHEN event = 'booking_rescheduled' THEN 1 ELSE 0 END) AS reschedules,
                                COUNT(DISTINCT CASE WHEN event = 'booking_rescheduled' THEN session_key END)
                                    AS reschedule_conversations,
                                SUM(CASE WHEN event = 'booking_cancelled' THEN 1 ELSE 0 END) AS cancellations,
                                COUNT(DISTINCT CASE WHEN event = 'booking_cancelled' THEN session_key END)
                                    AS cancellation_conversations,
                                SUM(CASE WHEN event IN {_in(LINK_EVENTS)} THEN 1 ELSE 0 END) AS links_sent,
                                COUNT(DISTINCT CASE WHEN event IN {_in(LINK_EVENTS)} THEN session_key END)
                                    AS link_conversations
                           FROM business_events GROUP BY day) b ON b.day = d.day
              LEFT JOIN (SELECT l.day, COUNT(*) AS purchases_paid, COUNT(DISTINCT l.session_key) AS paid_conversations,
                                CASE WHEN COUNT(DISTINCT o.currency) = 1 THEN SUM(o.amount) END AS amount_paid,
                                CASE WHEN COUNT(DISTINCT o.currency) = 1 THEN MIN(o.currency) ELSE 'mixed' END
                                    AS currency
                           FROM purchase_links l JOIN purchase_outcomes o ON o.purchase_id = l.purchase_id
                          WHERE o.status = 'paid' GROUP BY l.day) p ON p.day = d.day
              LEFT JOIN (SELECT l.day, COUNT(*) AS unchecked
                           FROM purchase_links l LEFT JOIN purchase_outcomes o ON o.purchase_id = l.purchase_id
                          WHERE o.purchase_id IS NULL GROUP BY l.day) u ON u.day = d.day
              LEFT JOIN booking_funnel f ON f.day = d.day""",
    }


def create_purchase_outcomes(conn: Connection) -> None:
    metadata = sa.MetaData()
    outcomes = sa.Table(
        "purchase_outcomes",
        metadata,
        sa.Column("purchase_id", sa.String(64), primary_key=True),
        sa.Column("sender_id", sa.String(255), nullable=False),
        sa.Column("phone", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("amount", sa.Numeric(12, 2), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("paid_at", sa.DateTime, nullable=True),
        sa.Column("checked_at", sa.DateTime, nullable=False),
    )
    outcomes.create(conn, checkfirst=True)


def upgrade(conn: Connection) -> None:
    for name in VIEWS:
        conn.execute(sa.text(f"DROP VIEW IF EXISTS {name}"))
    create_purchase_outcomes(conn)
    definitions = view_sql(conn)
    for name in reversed(VIEWS):
        conn.execute(sa.text(f"CREATE VIEW {name} AS {definitions[name]}"))
