"""A scripted 20-turn conversation, written through the tracker store, gives the expected view rows."""

from __future__ import annotations

import datetime as dt
import statistics

import pytest
import sqlalchemy as sa
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, UserUttered

from rasa_project.conversation_log import analytics
from rasa_project.conversation_log.migrations import migrate
from rasa_project.conversation_log.migrations.m0005_analytics import fallback_threshold
from rasa_project.conversation_log.tracker_store import WindowedSQLTrackerStore
from rasa_project.settings import Settings
from tests.conversation_log.support import domain

DAY1 = dt.datetime(2026, 3, 10, 15, 0, tzinfo=dt.timezone.utc).timestamp()
DAY2 = DAY1 + 86400
INTENTS = ["saludo", "reservar", "informar", "informar", "afirmar"]
CONF = [0.95, 0.88, 0.40, 0.72, 0.30]
ERRORS = {
    3: {"error": {"type": "booking_api.unavailable"}},
    7: {"error": {"type": "validation.fecha"}},
    11: {"phrasing": {"reason": "timeout"}},
    12: {"phrasing": {"reason": "llm"}},
    15: {"error": {"type": "validation.fecha"}, "phrasing": {"reason": "http_error"}},
    19: {"event": "booking_created"},
}


def scripted_turn(k: int, start: float):
    """Turn k: one user message, one or two bot messages; the last bot message `0.5 * (k % 4 + 1)` s later."""
    intent, conf = INTENTS[k % 5], CONF[k % 5]
    parse = {"text": f"mensaje {k}", "intent": {"name": intent, "confidence": conf}, "entities": []}
    events = [UserUttered(f"mensaje {k}", parse["intent"], [], parse_data=parse, timestamp=start)]
    latency = 0.5 * (k % 4 + 1)
    if k % 2:
        events += [ActionExecuted("utter_a", timestamp=start + 0.1), BotUttered("uno", timestamp=start + 0.1)]
    events += [
        ActionExecuted("action_x", timestamp=start + latency),
        BotUttered("dos", metadata=ERRORS.get(k, {}), timestamp=start + latency),
        ActionExecuted("action_listen", timestamp=start + latency),
    ]
    return events, latency


async def write_conversation(store, sender, turns, t0):
    tracker = store.init_tracker(sender)
    for e in [
        ActionExecuted("action_session_start", timestamp=t0),
        SessionStarted(timestamp=t0),
        ActionExecuted("action_listen", timestamp=t0),
    ]:
        tracker.update(e)
    latencies = []
    for k in range(turns):
        events, latency = scripted_turn(k, t0 + 60 * (k + 1))
        latencies.append(latency)
        for e in events:
            tracker.update(e)
        await store.save(tracker)
        tracker = await store.retrieve(sender)
    return latencies


@pytest.fixture(params=["postgresql", "sqlite"])
def url(request, pg_url, tmp_path):
    return pg_url if request.param == "postgresql" else f"sqlite:///{tmp_path / 'log.db'}"


async def test_views_on_scripted_conversation(url):
    store = WindowedSQLTrackerStore(domain=domain(), settings=Settings(tracker_db_url=url, tracker_window_events=12))
    assert migrate(store.engine) == []  # ran at start-up; a second run is a no-op
    lat = await write_conversation(store, "whatsapp:+5215511111111", 20, DAY1)
    await write_conversation(store, "whatsapp:+5215522222222", 2, DAY2)
    naive_day1 = dt.datetime(2026, 3, 10, 16, 0)
    with store.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO whatsapp_outbound (sender_id, status, error_code, created_at, updated_at) VALUES "
                "('+5215511111111', 'failed', 63016, :t, :t), ('+5215511111111', 'failed', NULL, :t, :t),"
                " ('+5215511111111', 'delivered', NULL, :t, :t)"
            ),
            {"t": naive_day1},
        )
        conn.execute(
            sa.text(
                "INSERT INTO whatsapp_inbox (message_sid, sender_id, received_at, body, metadata, status) VALUES "
                "('SM1', '+5215511111111', :t, 'x', '{}', 'rate_limited'),"
                " ('SM2', '+5215511111111', :t, 'y', '{}', 'done')"
            ),
            {"t": naive_day1},
        )

    conv = analytics.conversation_stats(store.engine)
    assert [r["day"] for r in conv] == ["2026-03-10", "2026-03-11"]
    d1 = conv[0]
    assert (d1["conversations"], d1["sessions"], d1["messages_in"], d1["unique_users"]) == (1, 1, 20, 1)
    assert d1["messages_out"] == 20 + 10
    assert d1["avg_processing_seconds"] == pytest.approx(statistics.mean(lat))
    assert d1["p95_processing_seconds"] == pytest.approx(statistics.quantiles(lat, n=20, method="inclusive")[-1])
    assert conv[1]["messages_in"] == 2 and conv[1]["conversations"] == 1

    threshold = fallback_threshold()
    intents = {r["intent"]: r for r in analytics.intent_stats(store.engine)}
    # day 1: 20 turns cycle the 5 intents (informar twice per cycle); day 2: saludo, reservar
    assert {i: r["messages"] for i, r in intents.items()} == {"informar": 8, "saludo": 5, "reservar": 5, "afirmar": 4}
    assert intents["informar"]["avg_confidence"] == pytest.approx((0.40 + 0.72) / 2)
    assert intents["afirmar"]["avg_confidence"] == pytest.approx(0.30)
    expected_share = {
        i: sum(1 for k in range(20) if INTENTS[k % 5] == i and CONF[k % 5] < threshold)
        + sum(1 for k in range(2) if INTENTS[k % 5] == i and CONF[k % 5] < threshold)
        for i in set(INTENTS)
    }
    for name, row in intents.items():
        assert row["share_below_threshold"] * row["messages"] == pytest.approx(expected_share[name])
    assert analytics.intent_stats(store.engine, threshold=0.99)[0]["share_below_threshold"] == 1.0

    errors = {(r["day"], r["source"], r["error_type"]): r["errors"] for r in analytics.error_stats(store.engine)}
    assert errors == {
        ("2026-03-10", "internal_api", "booking_api.unavailable"): 1,
        ("2026-03-10", "validation", "validation.fecha"): 2,
        ("2026-03-10", "llm_fallback", "timeout"): 1,
        ("2026-03-10", "llm_fallback", "http_error"): 1,
        ("2026-03-10", "outbound_failed", "63016"): 1,
        ("2026-03-10", "outbound_failed", "unknown"): 1,
        ("2026-03-10", "rate_limited", "rate_limited"): 1,
    }

    users = {r["sender_id"]: r for r in analytics.user_conversation_stats(store.engine)}
    a = users["whatsapp:+5215511111111"]
    assert (a["messages_in"], a["messages_out"], a["bookings"], a["distinct_intents"]) == (20, 30, 1, 4)
    assert a["intents"].split(",") == sorted(set(INTENTS))
    assert a["first_seen"].startswith("2026-03-10 15:01") and a["last_seen"].startswith("2026-03-10 15:20")
    assert analytics.user_conversation_stats(store.engine, "whatsapp:+5215522222222")[0]["bookings"] == 0
    assert migrate(store.engine) == []


async def test_stats_cli_prints_tables_and_writes_charts(pg_url, tmp_path, capsys):
    from rasa_project.stats_cli import main

    store = WindowedSQLTrackerStore(domain=domain(), settings=Settings(tracker_db_url=pg_url))
    await write_conversation(store, "whatsapp:+5215511111111", 5, DAY1)
    assert main(["--db", pg_url, "--png", str(tmp_path / "charts")]) == 0
    out = capsys.readouterr().out
    assert "Conversaciones por día" in out and "2026-03-10" in out and "saludo" in out
    assert (tmp_path / "charts" / "messages_per_day.png").stat().st_size > 1000
    assert (tmp_path / "charts" / "intents.png").exists()
    assert main(["--db", "postgresql+psycopg2://postgres@127.0.0.1:1/x"]) == 2
