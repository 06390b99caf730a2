"""The scheduler on Postgres: due reminders claimed once (two schedulers, a crash mid-batch), queued in
the inbox in the same transaction, skipped by the rules, and reconciled from the inbox and outbound rows."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from typing import Any, Dict, List

import pytest
import sqlalchemy as sa

from connectors.whatsapp.tables import inbox, outbound, senders, utcnow
from rasa_project.conversation_log.database import create_log_engine
from rasa_project.reminders import scheduler as scheduler_module
from rasa_project.reminders.planner import ReminderPlanner
from rasa_project.reminders.scheduler import ReminderScheduler
from rasa_project.reminders.tables import reminders
from rasa_project.settings import Settings
from tests.reminders.support import ANA, booking, insert_due, rows, states


def _inbox(engine: sa.engine.Engine) -> List[Dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(inbox).order_by(inbox.c.id))]


def _claim_all(scheduler: ReminderScheduler) -> int:
    """Claims until nothing is due; returns how many messages this scheduler queued."""
    total = 0
    while (batch := scheduler.claim_batch()).rows:
        total += len(batch.enqueued)
    return total


def test_a_due_reminder_is_queued_once_as_a_proactive_message(settings: Settings, engine: sa.engine.Engine) -> None:
    (rid,) = insert_due(engine, 1)
    scheduler = ReminderScheduler(settings, engine, "s1")
    batch = scheduler.claim_batch()
    assert (batch.rows, batch.enqueued) == (1, ["+5215550000000"])
    assert scheduler.claim_batch().rows == 0
    (row,) = _inbox(engine)
    assert row["message_sid"] == f"proactive:reminder-{rid}" and row["sender_id"] == "+5215550000000"
    assert row["status"] == "pending"
    assert json.loads(row["metadata"])["proactive"] == {
        "key": f"reminder-{rid}", "intent": "EXTERNAL_recordatorio",
        "entities": {"reserva_id": "DUE-00000", "recordatorio_id": str(rid)}}
    (reminder,) = rows(engine)
    assert (reminder["state"], reminder["claimed_by"], reminder["attempts"]) == ("claimed", "s1", 1)
    assert reminder["lease_until"] > utcnow()


def test_reminders_not_yet_due_stay_pending(settings: Settings, engine: sa.engine.Engine) -> None:
    insert_due(engine, 3, due_ago=timedelta(minutes=-10))
    assert ReminderScheduler(settings, engine, "s1").claim_batch().rows == 0
    assert _inbox(engine) == [] and {r["state"] for r in rows(engine)} == {"pending"}


def test_two_schedulers_on_one_database_queue_each_of_200_reminders_exactly_once(
        settings: Settings, engine: sa.engine.Engine, pg_url: str) -> None:
    ids = insert_due(engine, 200)
    small_batches = Settings(tracker_db_url=pg_url, reminders_batch=7)
    engines = [create_log_engine(pg_url, small_batches) for _ in range(2)]
    schedulers = [ReminderScheduler(small_batches, e, f"s{i}") for i, e in enumerate(engines)]
    start = threading.Barrier(2)
    claimed: Dict[str, int] = {}

    def run(scheduler: ReminderScheduler) -> None:
        start.wait()
        claimed[scheduler.owner] = _claim_all(scheduler)

    threads = [threading.Thread(target=run, args=(s,)) for s in schedulers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for e in engines:
        e.dispose()
    queued = [r["message_sid"] for r in _inbox(engine)]
    assert len(queued) == 200 and len(set(queued)) == 200
    assert set(queued) == {f"proactive:reminder-{i}" for i in ids}
    assert sum(claimed.values()) == 200
    by_owner = [r["claimed_by"] for r in rows(engine)]
    assert {r["state"] for r in rows(engine)} == {"claimed"} and set(by_owner) <= {"s0", "s1"}
    assert all(r["attempts"] == 1 for r in rows(engine))


def test_a_scheduler_killed_mid_batch_leaves_nothing_half_done(
        settings: Settings, engine: sa.engine.Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    insert_due(engine, 10)
    real_enqueue = scheduler_module.enqueue
    calls = {"n": 0}

    def dies_on_the_fourth(conn: Any, message: Any) -> bool:
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt("killed")  # the process dies between claim and commit
        return real_enqueue(conn, message)

    monkeypatch.setattr(scheduler_module, "enqueue", dies_on_the_fourth)
    with pytest.raises(KeyboardInterrupt):
        ReminderScheduler(settings, engine, "dies").claim_batch()
    assert _inbox(engine) == []
    assert {(r["state"], r["claimed_by"], r["attempts"]) for r in rows(engine)} == {("pending", None, 0)}

    monkeypatch.setattr(scheduler_module, "enqueue", real_enqueue)
    assert _claim_all(ReminderScheduler(settings, engine, "next")) == 10
    assert len(_inbox(engine)) == 10 and len({r["message_sid"] for r in _inbox(engine)}) == 10
    assert {(r["state"], r["claimed_by"], r["attempts"]) for r in rows(engine)} == {("claimed", "next", 1)}


def _set_inbox(engine: sa.engine.Engine, rid: int, status: str, last_error: str | None = None,
               sent: List[Dict[str, Any]] = ()) -> None:  # type: ignore[assignment]
    now = utcnow()
    with engine.begin() as conn:
        inbox_id = conn.execute(sa.update(inbox).where(inbox.c.message_sid == f"proactive:reminder-{rid}")
                                .values(status=status, last_error=last_error).returning(inbox.c.id)).scalar_one()
        for message in sent:
            conn.execute(outbound.insert().values(sender_id="x", inbox_id=inbox_id, kind="bot", body="hola",
                                                  attempts=1, created_at=message.pop("created_at", now),
                                                  updated_at=now, **message))


def test_reconcile_moves_claimed_rows_to_sent_skipped_or_failed(settings: Settings, engine: sa.engine.Engine) -> None:
    ids = insert_due(engine, 6, due_ago=timedelta(minutes=3))
    scheduler = ReminderScheduler(settings, engine, "s1")
    _claim_all(scheduler)
    handed = utcnow() - timedelta(minutes=1)
    sent, opted_out, turn_failed, send_failed, no_message, waiting = ids
    _set_inbox(engine, sent, "done", sent=[dict(twilio_sid="SM" + "a" * 32, status="delivered", created_at=handed)])
    _set_inbox(engine, opted_out, "opted_out")
    _set_inbox(engine, turn_failed, "failed", last_error="action server down")
    _set_inbox(engine, send_failed, "done", sent=[dict(status="failed", error_code=63016,
                                                       error_message="outside the window")])
    _set_inbox(engine, no_message, "done")

    result = scheduler.reconcile()
    assert (result.sent, result.skipped, result.failed) == (1, 2, 2)
    by_id = {r["id"]: r for r in rows(engine)}
    assert (by_id[sent]["state"], by_id[sent]["twilio_sid"], by_id[sent]["twilio_status"]) == \
        ("sent", "SM" + "a" * 32, "delivered")
    assert by_id[sent]["sent_at"] == handed
    assert (by_id[opted_out]["state"], by_id[opted_out]["reason"]) == ("skipped", "opted_out")
    assert (by_id[turn_failed]["state"], by_id[turn_failed]["reason"]) == ("failed", "action server down")
    assert (by_id[send_failed]["state"], by_id[send_failed]["reason"]) == ("failed", "outside the window")
    assert (by_id[no_message]["state"], by_id[no_message]["reason"]) == ("skipped", "no_message")
    assert by_id[waiting]["state"] == "claimed"  # the inbox worker has not run it yet
    assert scheduler.reconcile().sent == 0  # nothing moves twice


def test_a_reminder_cancelled_while_claimed_stays_cancelled(settings: Settings, engine: sa.engine.Engine,
                                                             planner: ReminderPlanner) -> None:
    (rid,) = insert_due(engine, 1)
    scheduler = ReminderScheduler(settings, engine, "s1")
    scheduler.claim_batch()
    planner.cancel_sync("DUE-00000")
    _set_inbox(engine, rid, "done", sent=[dict(twilio_sid="SM" + "b" * 32, status="sent")])
    assert scheduler.reconcile().sent == 0
    assert states(engine) == [(120, "cancelled", "booking_cancelled")]


def test_too_late_and_opted_out_are_skipped_without_a_message(settings: Settings, engine: sa.engine.Engine) -> None:
    insert_due(engine, 2, starts_in=timedelta(minutes=30))  # within REMINDERS_MIN_LEAD_MINUTES
    insert_due(engine, 2, phone_base=5215560000000)
    with engine.begin() as conn:
        conn.execute(senders.insert().values(sender_id="+5215560000000", opted_out=True, opted_out_at=utcnow()))
    batch = ReminderScheduler(settings, engine, "s1").claim_batch()
    assert batch.skipped == {"too_late": 2, "opted_out": 1}
    assert [r["sender_id"] for r in _inbox(engine)] == ["+5215560000001"]
    assert sorted((r["client_phone"], r["state"], r["reason"]) for r in rows(engine)) == [
        ("+5215550000000", "skipped", "too_late"), ("+5215550000001", "skipped", "too_late"),
        ("+5215560000000", "skipped", "opted_out"), ("+5215560000001", "claimed", None)]


def test_an_undeliverable_client_gets_no_reminder(settings: Settings, engine: sa.engine.Engine) -> None:
    insert_due(engine, 2)
    with engine.begin() as conn:  # Twilio answered 63024 for this number (the channel's mark, m0011)
        conn.execute(senders.insert().values(sender_id="+5215550000000", opted_out=False,
                                             undeliverable_at=utcnow(), undeliverable_code=63024))
    scheduler = ReminderScheduler(settings, engine, "s1")
    assert scheduler.claim_batch().skipped == {"undeliverable": 1}
    assert sorted((r["client_phone"], r["state"], r["reason"]) for r in rows(engine)) == [
        ("+5215550000000", "skipped", "undeliverable"), ("+5215550000001", "claimed", None)]


async def test_reminders_missed_while_down_are_sent_once_while_useful(
        settings: Settings, engine: sa.engine.Engine, planner: ReminderPlanner) -> None:
    # planned 3 days ago; everything was down since: both reminders of the 5 h one are overdue, only the
    # 2 h one is sent; the 40 min class gets none
    five_hours, forty_minutes = booking(timedelta(hours=5)), booking(timedelta(minutes=40))
    for b in (five_hours, forty_minutes):
        planner.plan_sync(b, now=utcnow() - timedelta(days=2))
    assert {s for _, s, _ in states(engine)} == {"pending"}
    with engine.begin() as conn:  # the 2 h reminder of the 5 h class was due 3 h ago
        conn.execute(reminders.update().where(reminders.c.booking_id == five_hours.id,
                                              reminders.c.offset_minutes == 120)
                     .values(due_at=utcnow() - timedelta(minutes=1)))
    scheduler = ReminderScheduler(settings, engine, "s1")
    await scheduler.tick()
    await scheduler.tick()
    assert states(engine, five_hours.id) == [(1440, "skipped", "superseded"), (120, "claimed", None)]
    assert states(engine, forty_minutes.id) == [(1440, "skipped", "too_late"), (120, "skipped", "too_late")]
    assert [r["sender_id"] for r in _inbox(engine)] == [ANA]


async def test_tick_wakes_each_sender_it_queued_for(settings: Settings, engine: sa.engine.Engine) -> None:
    insert_due(engine, 3)
    woken: List[str] = []
    handled, _ = await ReminderScheduler(settings, engine, "s1", wake=woken.append).tick()
    assert handled == 3 and sorted(woken) == ["+5215550000000", "+5215550000001", "+5215550000002"]
