"""The outbound delivery rules against the Twilio sandbox and Postgres (docs/whatsapp-window.md): WhatsApp's
24-hour window (free-form outside it never reaches Twilio), templates by ContentSid outside it and text with
buttons inside, "1" / a tap after a template mapped back to the payload, a 63016 retried once as the
template, undeliverable codes marking the client until they write, and SMS on the same webhook."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List

import httpx
import pytest
from prometheus_client import REGISTRY

from connectors.whatsapp.sender_store import SenderStore
from connectors.whatsapp.sms import split_sms
from rasa_project.conversation_log.database import create_log_engine
from rasa_project.devtools.sandbox_templates import CATEGORY, load_templates, templates_setting
from rasa_project.devtools.whatsapp_simulator import build_inbound_form, post_inbound
from rasa_project.settings import Settings
from tests.connector.support import ACCOUNT_SID, AUTH_TOKEN, Sandbox, client_wrote, eventually

A, B, C, D, E = "+5215533350001", "+5215533350002", "+5215533350003", "+5215533350004", "+5215533350005"
BUTTONS = [{"title": "Confirmo", "payload": '/confirmar_asistencia{"reserva_id":"B1"}'},
           {"title": "Cancelar", "payload": '/cancelar_cita{"reserva_id":"B1"}'},
           {"title": "Cambiar horario", "payload": '/reprogramar_cita{"reserva_id":"B1"}'}]
TEXT = "Hola Ana, te recordamos tu clase de Yoga Vinyasa mañana jueves a las 19:00. ¿Vienes?"
REMINDER = {"template": {"name": "recordatorio_cita", "text": TEXT, "buttons": BUTTONS,
                         "variables": {"1": "Ana", "2": "Yoga Vinyasa",
                                       "3": "mañana jueves 3 de diciembre a las 19:00"}}}


def _metric(name: str, labels: Dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def _approved_templates(sandbox: Sandbox) -> Dict[str, str]:
    """The repo's templates created and approved in the in-process sandbox (what local_stack does, async here)."""
    sids = {}
    auth = httpx.BasicAuth(ACCOUNT_SID, AUTH_TOKEN)
    for name, definition in load_templates().items():
        created = (await sandbox.client.post(f"{sandbox.url}/v1/Content", json=definition, auth=auth)).json()
        (await sandbox.client.post(f"{sandbox.url}/v1/Content/{created['sid']}/ApprovalRequests/whatsapp",
                                   json={"name": name, "category": CATEGORY}, auth=auth)).raise_for_status()
        sids[name] = created["sid"]
    return sids


@pytest.fixture
async def templated(sandbox: Sandbox, settings: Settings) -> Dict[str, Any]:
    sids = await _approved_templates(sandbox)
    return {"sids": sids, "whatsapp_templates": templates_setting(sids)}


async def _enforce_window(sandbox: Sandbox) -> None:
    (await sandbox.client.post(f"{sandbox.url}/_sandbox/window", json={"enforce": True})).raise_for_status()


def _outbound(channel: Any, number: str) -> List[Any]:
    return channel.query("SELECT status, error_code, error_message, template_name, template_state, body "
                         "FROM whatsapp_outbound WHERE sender_id = :s ORDER BY id", s=number)


async def test_outside_the_window_free_form_is_skipped_and_never_reaches_twilio(start_channel, sandbox):
    channel = await start_channel()
    before = _metric("whatsapp_outside_window_messages_total", {"outcome": "skipped"})
    proactive = channel.input_channel.get_output_channel()
    await proactive.send_text_message(B, "Tu clase es mañana")
    await proactive.send_text_with_buttons(B, "¿Vienes?", BUTTONS)
    await proactive.send_image_url(B, "https://example.com/mapa.png")
    assert [(r.status, r.error_message) for r in _outbound(channel, B)] == [
        ("skipped", "outside_window_no_template")] * 3
    assert await sandbox.messages(f"whatsapp:{B}") == [] and (await sandbox.stats())["create_attempts"] == 0
    assert _metric("whatsapp_outside_window_messages_total", {"outcome": "skipped"}) == before + 3
    errors = channel.query("SELECT source, error_type, errors FROM error_stats WHERE source = 'outbound_skipped'")
    assert [tuple(e) for e in errors] == [("outbound_skipped", "outside_window", 3)]


async def test_a_template_outside_the_window_goes_by_content_sid_and_a_1_maps_back(start_channel, sandbox, templated):
    await _enforce_window(sandbox)  # the sandbox fails free-form sends to B with 63016, as Twilio would
    channel = await start_channel(whatsapp_templates=templated["whatsapp_templates"])
    await channel.input_channel.get_output_channel().send_custom_json(B, REMINDER)
    [sent] = await sandbox.messages(f"whatsapp:{B}")
    assert sent["content_sid"] == templated["sids"]["recordatorio_cita"] and sent["approved_template"] is True
    assert sent["content_body"] == ("Hola Ana, te recordamos tu clase de Yoga Vinyasa, mañana jueves 3 de diciembre "
                                    "a las 19:00. ¿Vienes? Responde 1 para confirmar, 2 para cancelar o 3 para "
                                    "cambiar el horario.")
    assert [a["id"] for a in sent["actions"]] == ["1", "2", "3"]
    [row] = _outbound(channel, B)
    assert (row.status, row.template_name, row.template_state) == ("queued", "recordatorio_cita", "sent")
    await channel.send(B, "1")  # the client answers "1": the stored options' numbering
    await eventually(lambda: len(channel.received) == 1)
    assert channel.received[0].text == BUTTONS[0]["payload"]
    await channel.input_channel.get_output_channel().send_custom_json(E, REMINDER)
    [tapped] = await sandbox.messages(f"whatsapp:{E}")
    assert tapped["approved_template"] is True
    await channel.send(E, "Cambiar horario", button=("3", "Cambiar horario"))  # a tap posts the fixed id "3"
    await eventually(lambda: len(channel.received) == 2)
    assert channel.received[1].text == BUTTONS[2]["payload"]


async def test_a_template_without_a_sid_outside_the_window_is_skipped_with_its_name(start_channel, sandbox):
    channel = await start_channel()
    await channel.input_channel.get_output_channel().send_custom_json(B, REMINDER)
    assert [(r.status, r.error_message) for r in _outbound(channel, B)] == [
        ("skipped", "outside_window_no_template:recordatorio_cita")]
    assert await sandbox.messages() == []


async def test_a_template_inside_the_window_is_its_text_with_buttons(start_channel, sandbox, templated):
    async def reminder(message: Any) -> None:
        await message.output_channel.send_custom_json(message.sender_id, REMINDER)

    channel = await start_channel(reminder, whatsapp_templates=templated["whatsapp_templates"])
    await channel.send(A, "hola")
    [reply] = await channel.replies(sandbox, A)
    assert reply["content_sid"] not in templated["sids"].values() and reply["approved_template"] is False
    assert reply["content_body"] == TEXT and [a["id"] for a in reply["actions"]] == [b["payload"] for b in BUTTONS]
    rows = _outbound(channel, A)
    assert [(r.template_name, r.template_state) for r in rows] == [("recordatorio_cita", "offered")]
    await channel.send(A, "2")
    await eventually(lambda: len(channel.received) == 2)
    assert channel.received[1].text == BUTTONS[1]["payload"]


async def test_a_63016_is_recorded_counted_and_retried_once_as_the_template(start_channel, sandbox, templated):
    """Our log says the client wrote (inside the window) but Twilio disagrees: the session message fails with
    63016 through its status callback, and goes again once as the approved template."""
    await _enforce_window(sandbox)

    async def reminder(message: Any) -> None:
        await message.output_channel.send_custom_json(message.sender_id, REMINDER)

    channel = await start_channel(reminder, whatsapp_templates=templated["whatsapp_templates"])
    before = _metric("whatsapp_outside_window_messages_total", {"outcome": "template_retry"})
    form = build_inbound_form(C, "hola")  # posted without telling the sandbox: it thinks C never wrote
    assert (await post_inbound(channel.webhook_url, form, AUTH_TOKEN)).status_code == 200
    await eventually(lambda: [r.status for r in _outbound(channel, C)] == ["failed", "delivered"], timeout=15)
    first, retry = _outbound(channel, C)
    assert (first.error_code, first.template_state) == (63016, "retried")
    assert (retry.template_name, retry.template_state) == ("recordatorio_cita", "sent")
    messages = await sandbox.messages(f"whatsapp:{C}")
    assert [m["content_sid"] == templated["sids"]["recordatorio_cita"] for m in messages] == [False, True]
    assert _metric("whatsapp_outside_window_messages_total", {"outcome": "template_retry"}) == before + 1
    # a repeated callback for the failed message does not retry it again
    sid = channel.query("SELECT twilio_sid FROM whatsapp_outbound WHERE sender_id = :s ORDER BY id", s=C)[0][0]
    await _status_callback(channel, sid, "failed", 63016)
    await asyncio.sleep(0.3)
    assert len(await sandbox.messages(f"whatsapp:{C}")) == 2
    errors = channel.query("SELECT errors FROM error_stats WHERE source = 'outbound_failed' AND error_type = '63016'")
    assert errors == [(1,)]


async def _status_callback(channel: Any, sid: str, status: str, code: int) -> None:
    form = {"MessageSid": sid, "MessageStatus": status, "ErrorCode": str(code), "AccountSid": ACCOUNT_SID}
    response = await post_inbound(channel.status_url, form, AUTH_TOKEN)
    assert response.status_code == 204, response.text


async def test_63003_marks_the_client_undeliverable_until_they_write(start_channel, sandbox, settings):
    channel = await start_channel()
    senders = SenderStore(create_log_engine(settings.tracker_db_url, settings))
    await sandbox.client.post(f"{sandbox.url}/_sandbox/delivery", json={"to": f"whatsapp:{D}", "error_code": 63003})
    before = _metric("whatsapp_undeliverable_marks_total", {"code": "63003"})
    await channel.send(D, "hola")
    await eventually(lambda: senders.undeliverable(D) == 63003)
    # counted right after the mark is stored, by the callback's task
    await eventually(lambda: _metric("whatsapp_undeliverable_marks_total", {"code": "63003"}) == before + 1)
    await channel.input_channel.get_output_channel().send_text_message(D, "recordatorio")
    assert _outbound(channel, D)[-1][:3] == ("skipped", None, "undeliverable:63003")
    assert len(await sandbox.messages(f"whatsapp:{D}")) == 1  # only the echo that failed
    await sandbox.client.delete(f"{sandbox.url}/_sandbox/delivery")
    await channel.send(D, "ya tengo WhatsApp")
    await eventually(lambda: senders.undeliverable(D) is None)
    await channel.replies(sandbox, D, min_count=2)
    senders.engine.dispose()


async def _sms_replies(sandbox: Sandbox, number: str, count: int) -> List[dict]:
    """What the sandbox accepted for `number` as SMS (a bare `To`), once `count` arrived."""
    async def arrived() -> List[dict]:
        found = await sandbox.messages(number)
        return found if len(found) >= count else []

    return await eventually(arrived, timeout=15)


async def test_an_sms_is_answered_by_sms_with_numbered_options(start_channel, sandbox, settings):
    async def menu(message: Any) -> None:
        await message.output_channel.send_text_with_buttons(message.sender_id, "¿Qué servicio?", [
            {"title": "Yoga", "payload": '/elegir{"s":"yoga"}'},
            {"title": "Masaje", "payload": '/elegir{"s":"masaje"}'}])
        await message.output_channel.send_image_url(message.sender_id, "https://example.com/mapa.png")

    channel = await start_channel(menu, whatsapp_native_buttons=True)
    form = build_inbound_form(A, "hola", sms=True)
    assert form["From"] == A and not form["To"].startswith("whatsapp:")
    forged = await post_inbound(channel.webhook_url, form, "not-the-token")
    assert forged.status_code == 403  # SMS posts are signed and checked like WhatsApp ones
    assert (await post_inbound(channel.webhook_url, form, AUTH_TOKEN)).status_code == 200
    replies = await _sms_replies(sandbox, A, 2)
    assert [(r["to"], r["from"], r["content_sid"], r["body"]) for r in replies] == [
        (A, settings.twilio_sms_number, None, "¿Qué servicio?\n\n1. Yoga\n2. Masaje"),
        (A, settings.twilio_sms_number, None, "https://example.com/mapa.png")]
    assert channel.query("SELECT medium FROM whatsapp_senders WHERE sender_id = :s", s=A) == [("sms",)]
    await channel.send(A, "2", sms=True)
    await eventually(lambda: len(channel.received) == 2)
    assert channel.received[1].text == '/elegir{"s":"masaje"}' and channel.received[1].metadata["medium"] == "sms"


async def test_a_long_sms_goes_as_several_within_the_segment_limit(start_channel, sandbox):
    text = " ".join(["Tu clase de yoga está confirmada para el jueves."] * 40)  # UCS-2 (á), ~1,960 characters

    async def long_reply(message: Any) -> None:
        await message.output_channel.send_text_message(message.sender_id, text)

    channel = await start_channel(long_reply, sms_max_segments=5)
    await channel.send(A, "hola", sms=True)
    expected = split_sms(text, 5)
    replies = await _sms_replies(sandbox, A, len(expected))
    assert len(expected) > 1 and [r["body"] for r in replies] == expected
    assert all(int(r["num_segments"]) <= 5 for r in replies)
    assert " ".join(r["body"] for r in replies) == text


async def test_late_replies_of_a_turn_past_the_window_become_one_follow_up_template(start_channel, sandbox,
                                                                                    templated, settings):
    """A turn that runs after the window closed (its first attempt failed; the retry runs hours later, simulated
    by moving the client's last inbound back before it is claimed): its first reply goes as the `seguimiento`
    template with the client's name, the rest skipped."""
    engine = create_log_engine(settings.tracker_db_url, settings)
    attempts: List[int] = []

    async def late_turn(message: Any) -> None:
        attempts.append(1)
        if len(attempts) == 1:
            client_wrote(engine, message.sender_id, hours_ago=25)
            raise ConnectionError("the action server went away; the retry runs once the window has closed")
        await message.output_channel.send_text_message(message.sender_id, "Tu clase quedó reservada.")
        await message.output_channel.send_text_message(message.sender_id, "¿Algo más?")

    await _enforce_window(sandbox)
    channel = await start_channel(late_turn, whatsapp_templates=templated["whatsapp_templates"])
    await channel.send(A, "reserva yoga", profile_name="Ana López")
    await eventually(lambda: len(_outbound(channel, A)) == 2)
    first, second = _outbound(channel, A)
    assert (first.template_name, first.template_state) == ("seguimiento", "sent")
    assert (second.status, second.error_message) == ("skipped", "outside_window_no_template")
    [sent] = await sandbox.messages(f"whatsapp:{A}")
    assert sent["content_sid"] == templated["sids"]["seguimiento"] and sent["content_body"] == (
        "Hola Ana, tenemos una respuesta a tu mensaje. Escríbenos para continuar la conversación.")
    engine.dispose()
