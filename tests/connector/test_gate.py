"""The channel's gate on its own (SQLite stores, no server): each rule's verdict and the state it keeps."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator, Optional

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
from rasa_project.devtools.throwaway_db import throwaway_database
from rasa_project.devtools.whatsapp_simulator import build_inbound_form
from rasa_project.settings import Settings

A = "+5215533330002"
OWNER = "gate-test"


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.engine.Engine]:
    """SQLite (the stores' portable statements, the gate reads the sender) and Postgres (the claim reads it
    along; the pinning statements are text)."""
    with contextlib.ExitStack() as stack:
        url = (f"sqlite:///{tmp_path / 'log.db'}" if request.param == "sqlite"
               else stack.enter_context(throwaway_database("t_gate")))
        engine = create_log_engine(url, Settings(tracker_db_url=url))
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


def _bot_text(engine: sa.engine.Engine, row_id: int) -> Optional[str]:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT bot_text FROM whatsapp_inbox WHERE id = :i"), {"i": row_id}).scalar()


async def test_plain_text_goes_to_rasa_unwritten_and_a_retry_maps_it_the_same(engine: sa.engine.Engine) -> None:
    row = _claimed(engine, "hola")
    verdict = await _gate(engine).check(row)
    assert verdict.text == "hola" and verdict.notice is None
    assert _bot_text(engine, row.id) is None  # nothing a retry needs: the gate maps it the same way again
    retried = InboxStore(engine).claim_next(A, "another-instance", 60)
    assert retried.row is None  # still ours: leased
    assert (await _gate(engine).check(row)).text == "hola"


async def test_options_the_turn_stores_pin_its_text(engine: sa.engine.Engine) -> None:
    """The turn of a plain "2" sends options: its text is pinned with them, so a retry gives Rasa "2" again
    instead of the new options' second payload."""
    row = _claimed(engine, "2")
    assert (await _gate(engine).check(row)).text == "2"
    SenderStore(engine).store_options(A, [Option("Yoga", "/yoga"), Option("Pilates", "/pilates")], pin_text_of=row.id)
    assert _bot_text(engine, row.id) == "2"
    assert [o.payload for o in SenderStore(engine).get(A).options] == ["/yoga", "/pilates"]


async def test_a_mapped_reply_and_a_transcript_are_pinned_before_the_turn(engine: sa.engine.Engine) -> None:
    SenderStore(engine).store_options(A, [Option("Yoga", "/yoga"), Option("Pilates", "/pilates")])
    mapped = _claimed(engine, "la 2")
    assert (await _gate(engine).check(mapped)).text == "/pilates"
    assert _bot_text(engine, mapped.id) == "/pilates" and SenderStore(engine).get(A).options == []
    InboxStore(engine).finish(mapped.id, OWNER, DONE)
    voice = _claimed(engine, "")
    assert (await _gate(engine).check(voice, "quiero yoga mañana")).text == "quiero yoga mañana"
    assert _bot_text(engine, voice.id) == "quiero yoga mañana"


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
