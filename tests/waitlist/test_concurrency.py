"""Never two clients offered the same place at once: two processes' worth of engines racing on one slot."""

from __future__ import annotations

import threading
from typing import Callable, List

import sqlalchemy as sa

from rasa_project.conversation_log.database import create_log_engine
from rasa_project.settings import Settings
from rasa_project.waitlist import Entry, WaitlistStore
from rasa_project.waitlist.tables import entries
from tests.waitlist.support import live_offers, minutes, offer_rows, slot

ROUNDS = 50


def _race(pg_url: str, work: Callable[[WaitlistStore, int], None], threads: int = 2) -> None:
    barrier = threading.Barrier(threads)
    errors: List[BaseException] = []

    def run(n: int) -> None:
        engine = create_log_engine(pg_url, Settings())  # a separate engine (pool) per thread, like two instances
        try:
            store = WaitlistStore(engine, offer_minutes=30, min_lead_minutes=30)
            barrier.wait()
            for i in range(ROUNDS):
                work(store, n * ROUNDS + i)
        except BaseException as exc:  # noqa: BLE001  (reported to the test below)
            errors.append(exc)
        finally:
            engine.dispose()

    workers = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []


def _offered(engine: sa.engine.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(entries)
                                .where(entries.c.offered_at.isnot(None))).scalar_one())


def test_concurrent_freed_places_make_exactly_one_offer(pg_url: str, engine: sa.engine.Engine,
                                                        store: WaitlistStore) -> None:
    for n in range(20):
        store.join(f"+52155120000{n:02d}", slot(), now=minutes(0))
    made: List[Entry] = []
    lock = threading.Lock()

    def free(s: WaitlistStore, _: int) -> None:
        entry = s.place_freed(101, now=minutes(1))
        if entry is not None:
            with lock:
                made.append(entry)

    _race(pg_url, free)
    assert live_offers(engine, 101) == 1
    assert len(made) == 1 and made[0].client_phone == "+5215512000000"  # the first to join
    assert len(offer_rows(engine)) == len(made) == _offered(engine)


def test_freed_places_racing_with_declines_keep_one_offer_and_one_message_each(
        pg_url: str, engine: sa.engine.Engine, store: WaitlistStore) -> None:
    for n in range(2 * ROUNDS + 10):
        store.join(f"+5215513{n:06d}", slot(), now=minutes(0))
    made: List[Entry] = []
    lock = threading.Lock()

    def free_or_decline(s: WaitlistStore, i: int) -> None:
        if i % 2:
            got = s.place_freed(101, now=minutes(1))
        else:
            held = [e for e in s.slot_entries(101) if e.state == "offered"]
            got = s.decline(held[0].id, now=minutes(1)) if held else None
        if got is not None:
            with lock:
                made.append(got)

    _race(pg_url, free_or_decline)
    assert live_offers(engine, 101) <= 1
    queued = offer_rows(engine)
    assert len(queued) == len(made) == _offered(engine) > 1
    assert len({q["key"] for q in queued}) == len(queued)
    with engine.connect() as conn:  # the place went down the list in order: nobody skipped
        offered_order = conn.execute(sa.select(entries.c.id).where(entries.c.offered_at.isnot(None))
                                     .order_by(entries.c.id)).scalars().all()
        first_ids = conn.execute(sa.select(entries.c.id).order_by(entries.c.id)
                                 .limit(len(offered_order))).scalars().all()
    assert offered_order == first_ids
