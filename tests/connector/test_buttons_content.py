"""Content resources against the Twilio sandbox: created once per set of options and cached (memory and
Postgres, agreed across two caches/processes), sent by ContentSid with the text as `{{1}}`; a failed
create or an SID Twilio forgot falls back to numbered text, counted. At the connector level, with a real
output channel (WhatsAppOutput + OutboundSender) over the sandbox: 2 options → quick-reply, 8 → list
picker, 15 → numbered text."""

from __future__ import annotations

import asyncio
import json
from typing import Any, AsyncIterator, Dict, List

import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY

from connectors.whatsapp.buttons import LIST_PICKER, QUICK_REPLY, choose_content
from connectors.whatsapp.content_store import ContentTemplates, content_templates
from connectors.whatsapp.options import Option
from connectors.whatsapp.outbound_store import OutboundStore
from connectors.whatsapp.output import WhatsAppOutput
from connectors.whatsapp.sender import OutboundSender
from connectors.whatsapp.sender_store import SenderStore
from connectors.whatsapp.twilio_client import TwilioClient
from rasa_project.conversation_log.database import create_log_engine
from rasa_project.conversation_log.migrations import migrate
from rasa_project.settings import Settings
from tests.connector.support import Sandbox, client_wrote

A = "+5215533340001"
YES_NO = [{"title": "Sí, confirmar", "payload": "/afirmar"}, {"title": "No", "payload": "/negar"}]
MENU = [{"title": f"Opción número {n}", "payload": f"/menu{{\"n\":{n}}}"} for n in range(1, 9)]


def _count(outcome: str) -> float:
    return REGISTRY.get_sample_value("whatsapp_content_templates_total", {"outcome": outcome}) or 0.0


@pytest.fixture
def engine(settings: Settings) -> Any:
    engine = create_log_engine(settings.tracker_db_url, settings)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
async def twilio(settings: Settings) -> AsyncIterator[TwilioClient]:
    client = TwilioClient(settings)
    yield client
    await client.close()


async def _contents(sandbox: Sandbox) -> List[Dict[str, Any]]:
    return (await sandbox.client.get(f"{sandbox.url}/_sandbox/content")).json()["contents"]


def _output(twilio: TwilioClient, engine: Any) -> WhatsAppOutput:
    client_wrote(engine, A)  # buttons are session messages: inside WhatsApp's 24-hour window
    senders = SenderStore(engine)
    return WhatsAppOutput(OutboundSender(twilio, OutboundStore(engine), senders), senders)


def test_the_migrated_table_is_the_declared_one(engine: Any) -> None:
    columns = {c["name"]: (str(c["type"]).split("(")[0], c["nullable"]) for c in sa.inspect(engine).get_columns(
        "whatsapp_content_templates")}
    declared = {c.name: (str(c.type.compile(engine.dialect)).split("(")[0], c.nullable or False)
                for c in content_templates.columns}
    assert {k: v[1] for k, v in columns.items()} == {"content_key": False, "content_type": False,
                                                     "content_sid": False, "created_at": False}
    assert set(columns) == set(declared)
    assert sa.inspect(engine).get_pk_constraint("whatsapp_content_templates")["constrained_columns"] == ["content_key"]


async def test_quick_reply_is_created_once_and_sent_by_sid(sandbox: Sandbox, twilio: TwilioClient, engine: Any) -> None:
    output = _output(twilio, engine)
    await output.send_text_with_buttons(A, "¿Confirmo tu clase del viernes?", YES_NO)
    await output.send_text_with_buttons(A, "¿Y la del sábado?", YES_NO)
    contents = await _contents(sandbox)
    assert len(contents) == 1 and list(contents[0]["types"]) == [QUICK_REPLY]
    first, second = await sandbox.messages(f"whatsapp:{A}")
    assert first["content_sid"] == second["content_sid"] == contents[0]["sid"]
    assert (first["content_type"], first["content_body"]) == (QUICK_REPLY, "¿Confirmo tu clase del viernes?")
    assert json.loads(second["content_variables"]) == {"1": "¿Y la del sábado?"}
    assert [a["title"] for a in first["actions"]] == ["Sí, confirmar", "No"]
    assert [o.payload for o in SenderStore(engine).get(A).options] == ["/afirmar", "/negar"]  # "2" still works
    with engine.connect() as conn:
        assert conn.execute(sa.select(content_templates.c.content_sid)).scalars().all() == [contents[0]["sid"]]


async def test_eight_options_list_picker_fifteen_numbered(sandbox: Sandbox, twilio: TwilioClient, engine: Any) -> None:
    output = _output(twilio, engine)
    await output.send_text_with_buttons(A, "¿Qué quieres hacer?", MENU)
    many = [{"title": f"Clase {n}", "payload": f"/clase{{\"n\":{n}}}"} for n in range(1, 16)]
    await output.send_text_with_buttons(A, "Elige clase:", many)
    listed, numbered = await sandbox.messages(f"whatsapp:{A}")
    assert listed["content_type"] == LIST_PICKER and len(listed["items"]) == 8 and listed["button"]
    assert listed["items"][1] == {"item": "Opción número 2", "id": '/menu{"n":2}', "description": "Opción 2"}
    assert numbered["content_sid"] is None and numbered["body"].endswith("\n14. Clase 14\n15. Clase 15")
    assert len(await _contents(sandbox)) == 1


async def test_a_long_text_goes_first_and_the_buttons_on_the_last_part(sandbox: Sandbox, twilio: TwilioClient,
                                                                       engine: Any) -> None:
    text = "Detalles. " * 150 + "\n\n¿Confirmo?"  # 1,513 characters: one plain message could carry it, a Content not
    await _output(twilio, engine).send_text_with_buttons(A, text, YES_NO)
    messages = await sandbox.messages(f"whatsapp:{A}")
    assert [m["content_sid"] is not None for m in messages] == [False, True]
    last = messages[-1]["content_body"]
    assert last.endswith("\n\n¿Confirmo?") and len(last) <= 1024 and len(messages[0]["body"]) <= 1600
    assert " ".join((messages[0]["body"] + " " + last).split()) == " ".join(text.split())


async def test_two_caches_over_one_database_agree(sandbox: Sandbox, settings: Settings, engine: Any) -> None:
    """Two processes: each its own client and memory, one table. Racing, at most one extra resource; after,
    both use the stored SID, and a third process creates nothing."""
    spec = choose_content([Option("Sí", "/afirmar"), Option("No", "/negar")], "¿Vienes?", "whatsapp:" + A,
                          enabled=True)
    assert spec is not None
    clients = [TwilioClient(settings) for _ in range(3)]
    try:
        first, second, third = (ContentTemplates(c, engine) for c in clients)
        sids = await asyncio.gather(first.sid_for(spec), second.sid_for(spec), first.sid_for(spec))
        assert len(set(sids)) == 1 and sids[0] is not None
        assert 1 <= len(await _contents(sandbox)) <= 2
        assert await third.sid_for(spec) == sids[0]
        assert await second.sid_for(spec) == sids[0]
        assert len(await _contents(sandbox)) <= 2
    finally:
        for client in clients:
            await client.close()


async def test_a_failed_create_sends_numbered_text_and_counts(sandbox: Sandbox, settings: Settings,
                                                              engine: Any) -> None:
    twilio = TwilioClient(settings)
    twilio.client.content.base_url = "http://127.0.0.1:9"  # nothing listens: every attempt fails
    try:
        before = _count("create_failed")
        await _output(twilio, engine).send_text_with_buttons(A, "¿Confirmo?", YES_NO)
    finally:
        await twilio.close()
    [message] = await sandbox.messages(f"whatsapp:{A}")
    assert (message["content_sid"], message["body"]) == (None, "¿Confirmo?\n\n1. Sí, confirmar\n2. No")
    assert _count("create_failed") == before + 1
    assert await _contents(sandbox) == []
    assert [o.title for o in SenderStore(engine).get(A).options] == ["Sí, confirmar", "No"]


async def test_a_content_twilio_forgot_is_replaced(sandbox: Sandbox, twilio: TwilioClient, engine: Any) -> None:
    output = _output(twilio, engine)
    await output.send_text_with_buttons(A, "¿Confirmo?", YES_NO)
    (await sandbox.client.delete(f"{sandbox.url}/_sandbox/content")).raise_for_status()  # deleted in the console
    before = _count("forgotten")
    await output.send_text_with_buttons(A, "¿Confirmo ahora?", YES_NO)  # 21655 → numbered text, not lost
    await output.send_text_with_buttons(A, "¿Y ahora?", YES_NO)  # a fresh Content
    sent = await sandbox.messages(f"whatsapp:{A}")
    assert [m["content_body"] for m in sent] == ["¿Confirmo?", "¿Confirmo ahora?\n\n1. Sí, confirmar\n2. No",
                                                 "¿Y ahora?"]
    assert sent[2]["content_sid"] not in (None, sent[0]["content_sid"])
    assert _count("forgotten") == before + 1
    assert len(await _contents(sandbox)) == 1


async def test_sms_and_the_setting_off_send_numbered_text(sandbox: Sandbox, settings: Settings, engine: Any) -> None:
    from dataclasses import replace

    from rasa_project.phones import SMS

    off = TwilioClient(replace(settings, whatsapp_native_buttons=False))
    try:
        await _output(off, engine).send_text_with_buttons(A, "¿Confirmo?", YES_NO)
        senders = SenderStore(engine)
        sms = WhatsAppOutput(OutboundSender(off, OutboundStore(engine), senders), senders, medium=SMS)
        off.settings = replace(settings, whatsapp_native_buttons=True)
        await sms.send_text_with_buttons(A, "¿Confirmo?", YES_NO)
    finally:
        await off.close()
    assert [m["content_sid"] for m in await sandbox.messages()] == [None, None]
    assert await _contents(sandbox) == []
