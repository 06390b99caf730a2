"""WindowedSQLTrackerStore against the stock SQLTrackerStore, on a real throwaway Postgres database."""

from __future__ import annotations

import json
import logging
import time

import pytest
import sqlalchemy as sa
from rasa.core.tracker_store import FailSafeTrackerStore, SQLTrackerStore
from rasa.shared.core.events import UserUttered
from sqlalchemy.engine import make_url

from rasa_project.conversation_log.database import DatabaseUnavailable
from rasa_project.conversation_log.tracker_store import WindowedSQLTrackerStore, unwrap_fail_safe
from rasa_project.settings import Settings
from tests.conversation_log.support import domain, session_start, turn, user

WINDOW = 30


@pytest.fixture
def store(settings):
    return WindowedSQLTrackerStore(domain=domain(), settings=settings)


@pytest.fixture
def stock(pg_url, store):
    url = make_url(pg_url)
    return SQLTrackerStore(
        domain=domain(), dialect="postgresql", host=url.host, port=url.port, db=url.database, username="postgres"
    )


async def run_turns(tracker_store, sender, turns, first=0, start_session=True):
    """What Rasa's processor does per turn: retrieve (or create), append the turn's events, save."""
    for i in range(first, first + turns):
        tracker = await tracker_store.retrieve(sender)
        if tracker is None:
            tracker = tracker_store.init_tracker(sender)
            if start_session:
                for event in session_start():
                    tracker.update(event)
        for event in turn(i):
            tracker.update(event)
        await tracker_store.save(tracker)


def summary(tracker, dom, last=12):
    """What policies, forms and slots see; `last` states (the window's first state has no previous action)."""
    loop = tracker.active_loop
    return {
        "slots": tracker.current_slot_values(),
        "loop": (loop.name, loop.is_interrupted, loop.rejected) if loop else None,
        "loop_name": tracker.active_loop_name,
        "latest_text": tracker.latest_message.text,
        "latest_intent": tracker.latest_message.intent.get("name"),
        "latest_action": tracker.latest_action_name,
        "past_states": tracker.past_states(dom)[-last:],
        "past_states_rules": tracker.past_states(dom, ignore_rule_only_turns=True)[-last:],
    }


@pytest.mark.parametrize("turns", [3, 9, 61, 134])
async def test_same_state_as_stock_store(store, stock, turns):
    dom = domain()
    await run_turns(stock, "stock", turns)
    await run_turns(store, "windowed", turns)
    ours = await store.retrieve("windowed")
    theirs = await stock.retrieve("stock")
    if turns < 10:  # nothing cut yet: the whole session is the same
        assert len(ours.events) == len(theirs.events)
        last = 1000
    else:
        last = min(12, len(ours.past_states(dom)) - 1, len(ours.past_states(dom, ignore_rule_only_turns=True)) - 1)
        assert last >= 6 and len(ours.events) < len(theirs.events)
    assert summary(ours, dom, last) == summary(theirs, dom, last)


async def test_new_session_in_the_middle(store, stock):
    dom = domain()
    for s in (stock, store):
        await run_turns(s, "c", 100)
        tracker = await s.retrieve("c")
        for event in session_start() + [e for e in turn(0)]:
            tracker.update(event)
        await s.save(tracker)
        await run_turns(s, "c", 5, first=1)
    assert summary(await store.retrieve("c"), dom, 10) == summary(await stock.retrieve("c"), dom, 10)


async def test_window_is_bounded_after_400_turns(store):
    await run_turns(store, "long", 400)
    tracker = await store.retrieve("long")
    assert len(tracker.events) <= 2 * WINDOW + 10
    with store.engine.connect() as conn:
        total = conn.execute(sa.text("SELECT count(*) FROM events WHERE sender_id='long'")).scalar()
    assert total > 2000
    full = await store.retrieve_full_tracker("long")
    assert len(full.events) == total


async def test_save_after_window_appends_exactly_new_events(store):
    await run_turns(store, "s", 150)
    with store.engine.connect() as conn:
        before = conn.execute(sa.text("SELECT max(id), count(*) FROM events WHERE sender_id='s'")).one()
    tracker = await store.retrieve("s")
    new = turn(150)
    for event in new:
        tracker.update(event)
    await store.save(tracker)
    await store.save(tracker)  # a second save of the same tracker adds nothing
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT type_name, data FROM events WHERE sender_id='s' AND id > :m ORDER BY id"), {"m": before[0]}
        ).all()
    assert [r.type_name for r in rows] == [e.type_name for e in new]
    assert [json.loads(r.data)["timestamp"] for r in rows] == [e.timestamp for e in new]


async def test_full_tracker_is_complete_and_in_id_order(store):
    await run_turns(store, "f", 80)
    full = await store.retrieve_full_tracker("f")
    with store.engine.connect() as conn:
        data = [
            json.loads(d) for (d,) in conn.execute(sa.text("SELECT data FROM events WHERE sender_id='f' ORDER BY id"))
        ]
    assert [e.as_dict() for e in full.events] == data


async def test_tracker_created_by_rasa_is_saved_whole(store):
    tracker = await store.create_tracker("nuevo")
    assert [e.type_name for e in (await store.retrieve("nuevo")).events] == ["action"]
    tracker.update(user("saludo", "hola"))
    await store.save(tracker)
    assert len((await store.retrieve("nuevo")).events) == 2


async def test_card_number_never_reaches_table_or_logs(store, caplog):
    caplog.set_level(logging.DEBUG)
    tracker = store.init_tracker("pago")
    for event in session_start():
        tracker.update(event)
    card = "4242 4242 4242 4242"
    tracker.update(user("informar", f"mi tarjeta es {card} cvv 123", [{"entity": "tarjeta", "value": card}]))
    logging.getLogger("rasa.core.processor").debug("Received user message 'mi tarjeta es %s'", card)
    await store.save(tracker)
    with store.engine.connect() as conn:
        stored = " ".join(
            json.dumps(json.loads(d), ensure_ascii=False) for (d,) in conn.execute(sa.text("SELECT data FROM events"))
        )
    assert "4242 4242 4242 4242" not in stored and "cvv 123" not in stored
    assert "•••• 4242" in stored
    assert card not in caplog.text
    retrieved = await store.retrieve("pago")
    assert isinstance(retrieved.events[-1], UserUttered) and card not in retrieved.latest_message.text


def test_unreachable_host_fails_fast():
    started = time.monotonic()
    with pytest.raises(DatabaseUnavailable, match="unreachable"):
        WindowedSQLTrackerStore(settings=Settings(tracker_db_url="postgresql+psycopg2://postgres@127.0.0.1:1/x"))
    assert time.monotonic() - started < 10


def test_missing_database_fails_fast():
    started = time.monotonic()
    with pytest.raises(DatabaseUnavailable, match="t_convlog_does_not_exist"):
        WindowedSQLTrackerStore(
            settings=Settings(tracker_db_url="postgresql+psycopg2://postgres@127.0.0.1:5432/t_convlog_does_not_exist")
        )
    assert time.monotonic() - started < 10


async def test_unwrap_fail_safe_lets_errors_propagate(store):
    class Agent:
        pass

    class Processor:
        pass

    agent, agent.processor = Agent(), Processor()
    agent.tracker_store = agent.processor.tracker_store = FailSafeTrackerStore(store)
    unwrap_fail_safe(agent)
    assert agent.tracker_store is store and agent.processor.tracker_store is store
    store.engine.dispose()
    store.engine = sa.create_engine("postgresql+psycopg2://postgres@127.0.0.1:1/x")
    with pytest.raises(sa.exc.OperationalError):
        await agent.tracker_store.retrieve("x")
    assert await FailSafeTrackerStore(store).retrieve("x") is None  # what Rasa would have done


def test_rasa_builds_it_from_endpoints_yml(pg_url):
    from rasa.core.tracker_store import TrackerStore
    from rasa.utils.endpoints import EndpointConfig

    path = "rasa_project.conversation_log.tracker_store.WindowedSQLTrackerStore"
    store = TrackerStore.create(EndpointConfig(type=path, db_url=pg_url, window_events=7))
    assert isinstance(store, WindowedSQLTrackerStore) and store.window_events == 7
    with pytest.raises(DatabaseUnavailable):  # not Rasa's silent InMemoryTrackerStore fallback
        TrackerStore.create(EndpointConfig(type=path, db_url=pg_url + "_missing"))
