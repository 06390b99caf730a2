"""The channel's gate on its own (SQLite stores, no server): each rule's verdict and the state it keeps."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
import sqlalchemy as sa

from connectors.whatsapp import notices
from connectors.whatsapp.gate import ChannelGate, Verdict
from connectors.whatsapp.inbound import parse_inbound_form
from connectors.whatsapp.inbox_store import InboxRow, InboxStore
from connectors.whatsapp.options import Option
from connectors.whatsapp.paths import status_callback_url
from connectors.whatsapp.sender_store import SenderStore
from connectors.whatsapp.tables import DONE, OPTED_OUT, RATE_LIMITED
from rasa_project.conversation_log.database import create_log_engine
from rasa_project.conversation_log.migrations import migrate
from rasa_project.devtools.whatsapp_simulator import build_inbound_form
from rasa_project.settings import Settings

A = "+5215533330002"
OWNER = "gate-test"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.engine.Engine]:
    settings = Settings(tracker_db_url=f"sqlite:///{tmp_path / 'log.db'}")
    engine = create_log_engine(settings.tracker_db_url, settings)
    migrate(engine)
    yield engine
    engine.dispose()


def _gate(engine: sa.engine.Engine) -> ChannelGate:
    settings = Settings(rate_limit_messages=3, rate_limit_window_seconds=60)
    return ChannelGate(settings, InboxStore(engine), SenderStore(engine), OWNER)


def _claimed(engine: sa.engine.Engine, body: str) -> InboxRow:
    inbox = InboxStore(engine)
    inbox.accept(parse_inbound_form(build_inbound_form(A, body), 1000), "http://x")
    row = inbox.claim_next(A, OWNER, 60).row
    assert row is not None
    return row


async def _check_and_finish(engine: sa.engine.Engine, gate: ChannelGate, body: str) -> Verdict:
    row = _claimed(engine, body)
    verdict = await gate.check(row)
    InboxStore(engine).finish(row.id, OWNER, verdict.status if verdict.text is None else DONE)
    return verdict


async def test_plain_text_goes_to_rasa_and_is_saved_for_a_retry(engine: sa.engine.Engine) -> None:
    row = _claimed(engine, "hola")
    verdict = await _gate(engine).check(row)
    assert verdict.text == "hola" and verdict.notice is None
    with engine.connect() as conn:
        saved = conn.execute(sa.text("SELECT bot_text FROM whatsapp_inbox WHERE id = :i"), {"i": row.id}).scalar()
    assert saved == "hola"


async def test_opt_out_then_silence_then_opt_in(engine: sa.engine.Engine) -> None:
    gate = _gate(engine)
    out = await _check_and_finish(engine, gate, "BAJA")
    assert (out.text, out.notice, out.notice_kind) == (None, notices.OPTED_OUT, "opt_out")
    ignored = await _check_and_finish(engine, gate, "hola?")
    assert (ignored.text, ignored.status, ignored.notice) == (None, OPTED_OUT, None)
    back = await _check_and_finish(engine, gate, "alta")
    assert (back.text, back.notice) == (None, notices.OPTED_IN)
    assert not SenderStore(engine).is_opted_out(A)


async def test_a_number_picks_the_option_once(engine: sa.engine.Engine) -> None:
    SenderStore(engine).store_options(A, [Option("Yoga", "/informar{\"servicio\": \"yoga\"}"), Option("Pilates", "/p")])
    gate = _gate(engine)
    picked = await _check_and_finish(engine, gate, "la 2")
    assert picked.text == "/p"
    again = await _check_and_finish(engine, gate, "2")
    assert again.text == "2"  # the options are forgotten after one reply


async def test_rate_limit_notifies_once_per_window(engine: sa.engine.Engine) -> None:
    gate = _gate(engine)
    verdicts = [await _check_and_finish(engine, gate, f"m{i}") for i in range(5)]
    assert [v.text for v in verdicts[:3]] == ["m0", "m1", "m2"]
    assert [(v.status, v.notice) for v in verdicts[3:]] == [(RATE_LIMITED, notices.RATE_LIMITED), (RATE_LIMITED, None)]


def test_status_callback_url_comes_from_the_one_path() -> None:
    assert status_callback_url("https://bot.example.com/") == "https://bot.example.com/webhooks/whatsapp/status"
    assert status_callback_url(None) is None and status_callback_url("") is None
