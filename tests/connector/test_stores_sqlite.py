"""The channel's stores on the embedded SQLite default (migrations, claims, statuses), no server needed."""

import pytest

from connectors.whatsapp.inbound import parse_inbound_form
from connectors.whatsapp.inbox_store import InboxStore
from connectors.whatsapp.options import Option
from connectors.whatsapp.outbound_store import OutboundStore
from connectors.whatsapp.sender_store import SenderStore
from connectors.whatsapp.tables import utcnow
from rasa_project.conversation_log.database import create_log_engine
from rasa_project.conversation_log.migrations import migrate
from rasa_project.devtools.whatsapp_simulator import build_inbound_form
from rasa_project.settings import Settings

A = "+5215533330001"


@pytest.fixture
def engine(tmp_path):
    settings = Settings(tracker_db_url=f"sqlite:///{tmp_path / 'log.db'}")
    engine = create_log_engine(settings.tracker_db_url, settings)
    assert "0002_whatsapp_channel" in migrate(engine)
    assert migrate(engine) == []
    yield engine
    engine.dispose()


def _msg(body, sid=None):
    return parse_inbound_form(build_inbound_form(A, body, message_sid=sid), 1000)


def test_accept_is_idempotent_and_claims_keep_order(engine):
    inbox = InboxStore(engine)
    first = inbox.accept(_msg("uno", "SM1"), "http://x")
    assert inbox.accept(_msg("uno", "SM1"), "http://x") is None
    second = inbox.accept(_msg("dos", "SM2"), "http://x")
    claim = inbox.claim_next(A, "w1", 60)
    assert claim.row.id == first and claim.row.attempts == 1
    assert inbox.claim_next(A, "w2", 60).row is None  # the oldest is leased: nobody may skip ahead
    assert inbox.backlog() == 2
    assert inbox.retry_later(first, "w1", "ValueError: x", 30)
    later = inbox.claim_next(A, "w1", 60)
    assert later.row is None and 25 < later.retry_in <= 30  # in backoff; the second waits behind it
    assert inbox.claimable_senders() == []
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE whatsapp_inbox SET next_attempt_at = NULL")
    again = inbox.claim_next(A, "w1", 60).row
    assert again.id == first and again.attempts == 2
    assert inbox.finish(first, "w1", "done")
    assert inbox.claim_next(A, "w1", 60).row.id == second


def test_expired_lease_is_taken_over_and_release_keeps_attempts(engine):
    inbox = InboxStore(engine)
    row_id = inbox.accept(_msg("hola"), "http://x")
    inbox.claim_next(A, "dead", -1)
    assert inbox.claimable_senders() == [A]
    taken = inbox.claim_next(A, "alive", 60).row
    assert taken.id == row_id and taken.attempts == 2
    assert not inbox.finish(row_id, "dead", "done")  # the dead owner lost its lease
    inbox.release(row_id, "alive")
    assert inbox.claim_next(A, "alive", 60).row.attempts == 2


def test_rate_count_and_sender_state(engine):
    inbox, senders = InboxStore(engine), SenderStore(engine)
    ids = [inbox.accept(_msg(f"m{i}"), "http://x") for i in range(4)]
    assert inbox.count_recent(A, ids[3], utcnow().replace(year=2000)) == 3
    assert senders.get(A).opted_out is False
    senders.store_options(A, [Option("Yoga", "/yoga")])
    assert senders.get(A).options == [Option("Yoga", "/yoga")]
    senders.set_opted_out(A, True)
    state = senders.get(A)
    assert state.opted_out and state.options == []
    assert senders.take_rate_limit_notice(A, 60) and not senders.take_rate_limit_notice(A, 60)
    senders.set_opted_out("+5215533339999", False)  # unknown sender: upsert works


def test_status_only_moves_forward_and_early_callbacks_win(engine):
    outbound = OutboundStore(engine)
    row = outbound.create(A, None, "bot", "hola", None)
    assert outbound.record_status("SMabc", "sent", None) is False  # callback before the SID is known
    outbound.record_accepted(row, "SMabc", "queued", 1)
    assert outbound.record_status("SMabc", "delivered", None)
    assert outbound.record_status("SMabc", "sent", None)  # late, out of order: recorded, not applied
    with engine.connect() as conn:
        status = conn.exec_driver_sql("SELECT status FROM whatsapp_outbound").scalar()
        events = conn.exec_driver_sql("SELECT count(*) FROM whatsapp_status_events").scalar()
    assert status == "delivered" and events == 3
