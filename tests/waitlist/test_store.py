"""The waitlist's moves on a real Postgres: the order of offers, decline and expiry passing the place on,
one booking ending the list's turn, idempotent joins, withdrawals, slots too close to start, late answers."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from rasa_project.waitlist import Entry, WaitlistStore
from tests.waitlist.support import ANA, BETO, CARLA, T0, live_offers, minutes, offer_rows, slot


def _states(store: WaitlistStore, slot_id: int = 101) -> dict:
    return {e.client_phone: e.state for e in store.slot_entries(slot_id)}


def test_the_place_goes_down_the_list_in_order(store: WaitlistStore, engine: sa.engine.Engine) -> None:
    first = store.join(ANA, slot(), now=minutes(0))
    store.join(BETO, slot(), now=minutes(1))
    store.join(CARLA, slot(), now=minutes(2))

    offered = store.place_freed(101, now=minutes(10))
    assert offered is not None and offered.id == first.id and offered.client_phone == ANA
    assert offered.offer_expires_at == minutes(40)
    assert store.live_offer(ANA, now=minutes(11)) is not None
    assert store.live_offer(BETO, now=minutes(11)) is None

    second = store.decline(first.id, now=minutes(12))  # 'no' → the next one at once
    assert second is not None and second.client_phone == BETO
    assert _states(store) == {ANA: "declined", BETO: "offered", CARLA: "waiting"}

    assert store.sweep_once(now=minutes(20))["expired_offers"] == 0  # BETO's time has not run out
    swept = store.sweep_once(now=minutes(12 + 31))  # silence → the next one
    assert swept["expired_offers"] == 1 and swept["offered"] == 1
    assert _states(store) == {ANA: "declined", BETO: "expired", CARLA: "offered"}

    offer = store.live_offer(CARLA, now=minutes(44))
    assert offer is not None and offer.slot_id == 101 and offer.service_name == "Pilates"
    accepted = store.accept(offer.entry_id, now=minutes(45))
    assert accepted is not None and accepted.state == "accepted"
    assert store.booked(offer.entry_id, "RSV-2001", now=minutes(46))
    assert store.place_freed(101, now=minutes(47)) is None  # nobody left waiting
    assert store.sweep_once(now=minutes(500)) == {"expired_offers": 0, "offered": 0, "expired_waiting": 0,
                                                   "stale_accepts": 0}
    assert _states(store) == {ANA: "declined", BETO: "expired", CARLA: "booked"}
    assert store.entry(offer.entry_id).booking_id == "RSV-2001"  # type: ignore[union-attr]

    queued = offer_rows(engine)
    assert [q["sender"] for q in queued] == [ANA, BETO, CARLA]
    assert queued[0]["intent"] == "EXTERNAL_lugar_libre"
    assert queued[0]["key"] == f"waitlist-offer-{first.id}"
    assert queued[0]["entities"] == {"oferta_id": str(first.id), "slot_id": "101"}


def test_a_held_offer_blocks_a_second_one_and_an_accepted_offer_too(store: WaitlistStore,
                                                                   engine: sa.engine.Engine) -> None:
    store.join(ANA, slot(), now=minutes(0))
    store.join(BETO, slot(), now=minutes(1))
    first = store.place_freed(101, now=minutes(2))
    assert first is not None
    assert store.place_freed(101, now=minutes(3)) is None  # a second freed place waits its turn
    assert store.accept(first.id, now=minutes(4)) is not None
    assert store.place_freed(101, now=minutes(5)) is None  # the booking is under way
    assert live_offers(engine, 101) == 0 and len(offer_rows(engine)) == 1


def test_a_failed_booking_does_not_pass_a_place_that_may_be_gone(store: WaitlistStore) -> None:
    first = store.join(ANA, slot(), now=minutes(0))
    store.join(BETO, slot(), now=minutes(1))
    store.place_freed(101, now=minutes(2))
    store.accept(first.id, now=minutes(3))
    assert store.accept_failed(first.id, "slot_full", now=minutes(4)) is None
    assert _states(store) == {ANA: "cancelled", BETO: "waiting"}
    assert store.entry(first.id).reason == "slot_full"  # type: ignore[union-attr]
    assert store.place_freed(101, now=minutes(5)) is not None  # the next freed place reaches BETO


def test_a_failure_of_the_client_passes_the_place_when_asked(store: WaitlistStore) -> None:
    first = store.join(ANA, slot(), now=minutes(0))
    store.join(BETO, slot(), now=minutes(1))
    store.place_freed(101, now=minutes(2))
    store.accept(first.id, now=minutes(3))
    nxt = store.accept_failed(first.id, "no_sessions", offer_next_client=True, now=minutes(4))
    assert nxt is not None and nxt.client_phone == BETO


def test_joining_twice_keeps_the_first_place(store: WaitlistStore) -> None:
    ana = store.join(ANA, slot(), now=minutes(0))
    store.join(BETO, slot(), now=minutes(1))
    again = store.join("whatsapp:+52 155 1111 0001", slot(), now=minutes(2))
    assert again.id == ana.id and again.joined_at == ana.joined_at == minutes(0)
    assert [e.client_phone for e in store.slot_entries(101)] == [ANA, BETO]
    offered = store.place_freed(101, now=minutes(3))
    assert offered is not None and offered.client_phone == ANA


def test_joining_with_the_booking_apis_slot(store: WaitlistStore) -> None:
    from rasa_project.booking_api.models import Slot

    api_slot = Slot(id=55, service_code="yoga", service_name="Yoga", starts_at=T0 + timedelta(days=1),
                    ends_at=T0 + timedelta(days=1, hours=1), capacity=8, booked=8, available=0, instructor="Sol")
    entry = store.join(ANA, api_slot, now=minutes(0))
    assert (entry.slot_id, entry.service_code, entry.starts_at, entry.state) == (55, "yoga", T0 + timedelta(days=1),
                                                                                "waiting")


def test_withdraw(store: WaitlistStore) -> None:
    store.join(ANA, slot(), now=minutes(0))
    store.join(BETO, slot(), now=minutes(1))
    store.join(CARLA, slot(), now=minutes(2))
    assert store.withdraw(BETO, 101, now=minutes(3))
    assert not store.withdraw(BETO, 101, now=minutes(4))  # not on the list any more
    offered = store.place_freed(101, now=minutes(5))
    assert offered is not None and offered.client_phone == ANA
    assert store.withdraw(ANA, 101, now=minutes(6))  # the offer's holder leaves: the place passes on
    assert _states(store) == {ANA: "withdrawn", BETO: "withdrawn", CARLA: "offered"}
    rejoined = store.join(BETO, slot(), now=minutes(7))  # back at the end of the list
    assert rejoined.state == "waiting" and rejoined.joined_at == minutes(7)


def test_a_slot_starting_soon_is_expired_not_offered(store: WaitlistStore, engine: sa.engine.Engine) -> None:
    soon = slot(202, hours_ahead=1)
    store.join(ANA, soon, now=minutes(0))
    store.join(BETO, soon, now=minutes(1))
    assert store.place_freed(202, now=minutes(35)) is None  # starts in 25 minutes, the lead is 30
    assert _states(store, 202) == {ANA: "expired", BETO: "expired"}
    assert {e.reason for e in store.slot_entries(202)} == {"too_late"}
    assert offer_rows(engine) == []


def test_the_sweep_expires_waiting_clients_of_a_slot_that_starts_soon(store: WaitlistStore) -> None:
    store.join(ANA, slot(203, hours_ahead=1), now=minutes(0))
    store.join(BETO, slot(204, hours_ahead=5), now=minutes(0))
    assert store.sweep_once(now=minutes(31))["expired_waiting"] == 1
    assert [e.state for e in store.slot_entries(203)] == ["expired"]
    assert [e.state for e in store.slot_entries(204)] == ["waiting"]


def test_an_offer_never_outlives_its_slot(engine: sa.engine.Engine) -> None:
    store = WaitlistStore(engine, offer_minutes=120, min_lead_minutes=30)
    store.join(ANA, slot(205, hours_ahead=0.75), now=minutes(0))  # starts at minute 45
    offered = store.place_freed(205, now=minutes(5))  # 120 minutes to answer would run past the start
    assert offered is not None and offered.offer_expires_at == minutes(45)


def test_accepting_after_expiry_or_twice(store: WaitlistStore) -> None:
    first = store.join(ANA, slot(), now=minutes(0))
    second = store.join(BETO, slot(), now=minutes(1))
    store.place_freed(101, now=minutes(2))
    assert store.accept(first.id, now=minutes(33)) is None  # its 30 minutes are over, even before a sweep
    assert store.live_offer(ANA, now=minutes(33)) is None
    store.sweep_once(now=minutes(33))
    assert store.accept(first.id, now=minutes(34)) is None
    offer = store.accept(second.id, now=minutes(35))
    assert offer is not None and offer.client_phone == BETO
    again = store.accept(second.id, now=minutes(36))  # a retried action sees the same acceptance
    assert again is not None and again.entry_id == second.id
    assert store.decline(second.id, now=minutes(37)) is None  # accepted: no longer a 'no' to take


def test_an_accepted_offer_whose_booking_never_reported_stops_holding_the_place(store: WaitlistStore) -> None:
    first = store.join(ANA, slot(), now=minutes(0))
    store.join(BETO, slot(), now=minutes(1))
    store.place_freed(101, now=minutes(2))
    store.accept(first.id, now=minutes(3))
    assert store.sweep_once(now=minutes(5))["stale_accepts"] == 0
    assert store.sweep_once(now=minutes(14))["stale_accepts"] == 1
    assert [s.slot_id for s in store.slots_waiting(now=minutes(14))] == [101]  # the sync may offer it again
    assert store.booked(first.id, "RSV-9", now=minutes(15))  # a late report still records the booking


def test_slots_waiting_leaves_out_held_slots(store: WaitlistStore) -> None:
    store.join(ANA, slot(301), now=minutes(0))
    store.join(BETO, slot(301), now=minutes(0))
    store.join(CARLA, slot(302), now=minutes(0))
    store.place_freed(301, now=minutes(1))
    assert [s.slot_id for s in store.slots_waiting(now=minutes(2))] == [302]


def test_live_offer_is_the_latest_of_several(store: WaitlistStore) -> None:
    store.join(ANA, slot(401), now=minutes(0))
    store.join(ANA, slot(402), now=minutes(0))
    store.place_freed(401, now=minutes(1))
    later: Entry | None = store.place_freed(402, now=minutes(2))
    offer = store.live_offer(ANA, now=minutes(3))
    assert later is not None and offer is not None and offer.entry_id == later.id and offer.slot_id == 402


def test_the_settings_set_the_offer_time(engine: sa.engine.Engine) -> None:
    from rasa_project.settings import Settings

    settings = Settings.from_env({"WAITLIST_OFFER_MINUTES": "5", "WAITLIST_MIN_LEAD_MINUTES": "120"})
    store = WaitlistStore.from_settings(engine, settings)
    store.join(ANA, slot(501, hours_ahead=3), now=minutes(0))
    offered = store.place_freed(501, now=minutes(1))
    assert offered is not None and offered.offer_expires_at == minutes(6)
    store.join(BETO, slot(502, hours_ahead=1.5), now=minutes(0))
    assert store.place_freed(502, now=minutes(1)) is None  # 89 minutes ahead, the lead is 120


def test_the_same_moves_on_sqlite(tmp_path: Path) -> None:
    """`make run` keeps the conversation log in SQLite: the waitlist works there too (one writer at a time)."""
    from rasa_project.conversation_log.database import create_log_engine
    from rasa_project.conversation_log.migrations import migrate
    from rasa_project.settings import Settings

    engine = create_log_engine(f"sqlite:///{tmp_path / 'log.db'}", Settings())
    migrate(engine)
    store = WaitlistStore(engine)
    first = store.join(ANA, slot(), now=minutes(0))
    assert store.join(ANA, slot(), now=minutes(1)).id == first.id
    store.join(BETO, slot(), now=minutes(1))
    assert store.place_freed(101, now=minutes(2)) is not None
    assert store.place_freed(101, now=minutes(2)) is None
    nxt = store.decline(first.id, now=minutes(3))
    assert nxt is not None and nxt.client_phone == BETO
    assert store.accept(nxt.id, now=minutes(4)) is not None and store.booked(nxt.id, "RSV-1", now=minutes(5))
    assert [q["sender"] for q in offer_rows(engine)] == [ANA, BETO]
    engine.dispose()
