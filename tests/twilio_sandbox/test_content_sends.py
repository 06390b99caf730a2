"""Sending by ContentSid + ContentVariables with twilio-python's client: rendering, the message record a
simulator reads (buttons and list items), Twilio's refusals (21654/21655/21656) and late failures."""

from __future__ import annotations

import json
from typing import Any, Dict, List

import httpx
import pytest
from twilio.base.exceptions import TwilioRestException

from tests.twilio_sandbox.conftest import Receiver, Sandbox, create_content, request_approval
from tests.twilio_sandbox.test_content_api import CONFIRM, SERVICES

CLIENT = "whatsapp:+5215512345678"
SMS_CLIENT = "+5215512345678"
BUSINESS = "whatsapp:+14155238886"


async def wrote(sandbox: Sandbox, sender: str = CLIENT) -> None:
    async with httpx.AsyncClient() as http:
        (await http.post(f"{sandbox.base_url}/_sandbox/inbound", json={"from": sender})).raise_for_status()


async def records(sandbox: Sandbox) -> List[Dict[str, Any]]:
    async with httpx.AsyncClient() as http:
        return (await http.get(f"{sandbox.base_url}/_sandbox/messages")).json()["messages"]


async def test_quick_reply_is_rendered_and_recorded_with_its_buttons(strict_client, strict_sandbox: Sandbox,
                                                                     receiver: Receiver) -> None:
    content = await create_content(strict_client, CONFIRM)
    await wrote(strict_sandbox)
    variables = json.dumps({"1": "Beto", "2": "jueves 12:00"})

    message = await strict_client.messages.create_async(to=CLIENT, from_=BUSINESS, content_sid=content.sid,
                                                        content_variables=variables,
                                                        status_callback=f"{receiver.url}/status")
    calls = await receiver.wait(2)
    [record] = await records(strict_sandbox)

    text = "Hola Beto, ¿confirmas tu cita del jueves 12:00?"
    assert (message.status, message.body) == ("queued", text)
    assert [c["form"]["MessageStatus"] for c in calls] == ["sent", "delivered"]  # none for its initial `queued`
    assert (record["content_sid"], record["content_variables"]) == (content.sid, variables)
    assert (record["content_type"], record["rendered_body"], record["body"]) == ("twilio/quick-reply", text, text)
    assert record["actions"] == [{"title": "Sí, confirmar", "id": "confirmar"},
                                 {"title": "Cambiar hora", "id": "reprogramar"},
                                 {"title": "Cancelar", "id": "cancelar"}]
    assert (record["items"], record["button"], record["approved_template"]) == (None, None, False)


async def test_defaults_fill_what_content_variables_leave_out(strict_client, strict_sandbox: Sandbox) -> None:
    content = await create_content(strict_client, CONFIRM)
    await wrote(strict_sandbox)
    await strict_client.messages.create_async(to=CLIENT, from_=BUSINESS, content_sid=content.sid)
    await strict_client.messages.create_async(to=CLIENT, from_=BUSINESS, content_sid=content.sid,
                                              content_variables='{"2": "viernes 9:30"}')
    first, second = await records(strict_sandbox)
    assert first["rendered_body"] == "Hola Ana, ¿confirmas tu cita del martes 10:00?"
    assert second["rendered_body"] == "Hola Ana, ¿confirmas tu cita del viernes 9:30?"


async def test_list_picker_is_recorded_with_button_and_items(strict_client, strict_sandbox: Sandbox) -> None:
    picker = await create_content(strict_client, SERVICES)
    await wrote(strict_sandbox)
    await strict_client.messages.create_async(to=CLIENT, from_=BUSINESS, content_sid=picker.sid,
                                              content_variables='{"1": "Ana"}')
    [record] = await records(strict_sandbox)
    assert (record["content_type"], record["rendered_body"]) == ("twilio/list-picker",
                                                                 "¿Qué servicio quieres reservar, Ana?")
    assert record["button"] == "Ver servicios" and record["actions"] is None
    assert record["items"] == SERVICES["types"]["twilio/list-picker"]["items"]


async def test_sms_gets_the_text_type_and_has_no_window(strict_client, strict_sandbox: Sandbox) -> None:
    content = await create_content(strict_client, CONFIRM)
    message = await strict_client.messages.create_async(to=SMS_CLIENT, from_="+14155238886", content_sid=content.sid)
    [record] = await records(strict_sandbox)
    assert record["content_type"] == "twilio/text" and record["actions"] is None
    assert record["body"] == "Hola Ana, ¿confirmas tu cita del martes 10:00? Responde SÍ o NO."
    assert message.num_segments == "1"


@pytest.mark.parametrize("fields, code", [
    ({"content_sid": "HX" + "a" * 32}, 21655),  # never created here
    ({"content_sid": "HX123"}, 21655),
    ({"content_sid": "MG" + "a" * 32}, 21655),
    ({"body": "hola", "content_variables": '{"1": "Ana"}'}, 21654),
])
async def test_twilios_content_refusals(strict_client, strict_sandbox: Sandbox, fields, code) -> None:
    with pytest.raises(TwilioRestException) as error:
        await strict_client.messages.create_async(to=CLIENT, from_=BUSINESS, **fields)
    assert (error.value.status, error.value.code) == (400, code)
    assert await records(strict_sandbox) == []


@pytest.mark.parametrize("variables", ["{nope", '["Ana"]', '{"1": {"nombre": "Ana"}}', '{"1": true}'])
async def test_invalid_content_variables_are_21656(strict_client, variables) -> None:
    content = await create_content(strict_client, CONFIRM)
    with pytest.raises(TwilioRestException) as error:
        await strict_client.messages.create_async(to=CLIENT, from_=BUSINESS, content_sid=content.sid,
                                                  content_variables=variables)
    assert (error.value.status, error.value.code) == (400, 21656)


async def test_a_deleted_content_can_not_be_sent(strict_client) -> None:
    content = await create_content(strict_client, CONFIRM)
    await strict_client.content.v1.contents(content.sid).delete_async()
    with pytest.raises(TwilioRestException) as error:
        await strict_client.messages.create_async(to=CLIENT, from_=BUSINESS, content_sid=content.sid)
    assert error.value.code == 21655


async def test_a_variable_without_value_fails_with_63028(strict_client, strict_sandbox: Sandbox,
                                                        receiver: Receiver) -> None:
    content = await create_content(strict_client, {**CONFIRM, "variables": {}})
    await wrote(strict_sandbox)
    message = await strict_client.messages.create_async(to=CLIENT, from_=BUSINESS, content_sid=content.sid,
                                                        content_variables='{"1": "Ana"}',
                                                        status_callback=f"{receiver.url}/status")
    calls = await receiver.wait(1)
    assert message.status == "queued"
    assert [c["form"]["MessageStatus"] for c in calls] == ["failed"]
    assert calls[-1]["form"]["ErrorCode"] == "63028"
    assert (await records(strict_sandbox))[0]["rendered_body"] == "Hola Ana, ¿confirmas tu cita del {{2}}?"


async def test_more_than_three_buttons_need_an_approved_template(strict_client, strict_sandbox: Sandbox,
                                                                 receiver: Receiver) -> None:
    four = {**CONFIRM, "types": {"twilio/quick-reply": {
        "body": "¿A qué hora te queda bien?",
        "actions": [{"title": hour, "id": hour} for hour in ("9:00", "10:00", "11:00", "12:00")]}}}
    session, template = await create_content(strict_client, four), await create_content(strict_client, four)
    await request_approval(strict_client, template.sid, "horarios_disponibles")
    await wrote(strict_sandbox)

    for content in (session, template):
        await strict_client.messages.create_async(to=CLIENT, from_=BUSINESS, content_sid=content.sid,
                                                  status_callback=f"{receiver.url}/{content.sid}")
    await strict_client.messages.create_async(to=SMS_CLIENT, from_="+14155238886", content_sid=session.sid,
                                              status_callback=f"{receiver.url}/sms")
    calls = await receiver.wait(1 + 2 + 2)

    def outcome(path: str) -> tuple:
        final = [c["form"] for c in calls if str(c["url"]).endswith(path)][-1]
        return final["MessageStatus"], final.get("ErrorCode")

    assert outcome(session.sid) == ("failed", "63021")
    assert outcome(template.sid) == ("delivered", None)
    assert outcome("/sms") == ("delivered", None)  # SMS shows the body alone, whatever the buttons


async def test_unknown_content_is_opaque_where_allowed(twilio_client, sandbox: Sandbox) -> None:
    """The lenient sandbox (`allow_unknown_content`) records an unknown SID's send without rendering it."""
    await twilio_client.messages.create_async(to=CLIENT, from_=BUSINESS, content_sid="HX" + "b" * 32,
                                              content_variables='{"1": "10:00"}')
    with pytest.raises(TwilioRestException) as error:
        await twilio_client.messages.create_async(to=CLIENT, from_=BUSINESS, content_sid="HX-not-a-sid")
    [record] = await records(sandbox)
    assert (record["content_sid"], record["content_type"], record["approved_template"]) == (
        "HX" + "b" * 32, None, True)
    assert error.value.code == 21655
