"""WhatsApp's 24-hour customer service window on the sandbox clock: free-form sends outside it are
accepted and then fail with 63016 through a signed status callback; approved templates go through."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List

import httpx
import pytest
from twilio.request_validator import RequestValidator

from rasa_project.sandboxes.twilio_api import content_store, create_app, customer_window
from rasa_project.sandboxes.twilio_api.app import WINDOW_KEY
from rasa_project.sandboxes.twilio_api.window import ENFORCED_BY_DEFAULT
from tests.twilio_sandbox.conftest import Receiver, Sandbox, create_content, request_approval
from tests.twilio_sandbox.test_content_api import CONFIRM, SERVICES

CLIENT = "whatsapp:+5215512345678"
BUSINESS = "whatsapp:+14155238886"
WINDOW_TEXT = ("Failed to send freeform message because you are outside the allowed window. "
               "If you are using WhatsApp, please use a Message Template.")


async def control(sandbox: Sandbox, method: str, path: str, **kwargs: Any) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.request(method, f"{sandbox.base_url}/_sandbox/{path}", **kwargs)


def iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


TERMINAL = ("delivered", "read", "failed", "undelivered")


async def final_statuses(receiver: Receiver, *messages: Any) -> List[Dict[str, str]]:
    """The terminal callback form of each message, in the order given."""

    def finals() -> Dict[str, Dict[str, str]]:
        forms = [call["form"] for call in receiver.calls]
        return {f["MessageSid"]: f for f in forms if isinstance(f, dict) and f["MessageStatus"] in TERMINAL}

    async with receiver.arrived:
        await asyncio.wait_for(receiver.arrived.wait_for(lambda: all(m.sid in finals() for m in messages)), 5)
    return [finals()[m.sid] for m in messages]


async def send(client: Any, receiver: Receiver, to: str = CLIENT, **fields: Any) -> Any:
    fields.setdefault("body", "Tu cita es mañana a las 10:00")
    return await client.messages.create_async(to=to, from_=BUSINESS, status_callback=f"{receiver.url}/status",
                                              **fields)


async def test_never_wrote_is_accepted_then_fails_with_63016(strict_client, strict_sandbox: Sandbox,
                                                             receiver: Receiver) -> None:
    message = await send(strict_client, receiver)
    calls = await receiver.wait(1)

    assert message.status == "queued" and message.error_code is None  # 201, as Twilio answers it
    assert [c["form"]["MessageStatus"] for c in calls] == ["failed"]
    failed = calls[-1]["form"]
    assert (failed["ErrorCode"], failed["ErrorMessage"]) == ("63016", WINDOW_TEXT)
    for call in calls:
        assert RequestValidator(strict_sandbox.auth_token).validate(call["url"], call["form"], call["signature"])
    fetched = await strict_client.messages(message.sid).fetch_async()
    assert (fetched.status, fetched.error_code, fetched.error_message) == ("failed", 63016, WINDOW_TEXT)


async def test_inbound_opens_the_window_and_the_clock_closes_it(strict_client, strict_sandbox: Sandbox,
                                                                receiver: Receiver) -> None:
    recorded = await control(strict_sandbox, "POST", "inbound", json={"from": CLIENT})
    inside = await send(strict_client, receiver)
    moved = await control(strict_sandbox, "POST", "clock", json={"offset_seconds": 24 * 3600})
    a_day_later = await send(strict_client, receiver)
    assert (await control(strict_sandbox, "DELETE", "clock")).status_code == 204
    back = await send(strict_client, receiver)

    finals = await final_statuses(receiver, inside, a_day_later, back)
    statuses = [(f["MessageStatus"], f.get("ErrorCode")) for f in finals]
    assert recorded.json()["window_open"] is True and recorded.json()["window_closes_at"]
    assert moved.json()["offset_seconds"] == 86400
    assert statuses == [("delivered", None), ("failed", "63016"), ("delivered", None)]


@pytest.mark.parametrize("hours_ago, final", [(23.9, "delivered"), (24, "failed"), (30, "failed")])
async def test_the_window_is_24_hours_from_the_last_inbound(strict_client, strict_sandbox: Sandbox,
                                                            receiver: Receiver, hours_ago, final) -> None:
    at = datetime.now(timezone.utc) - timedelta(hours=hours_ago)
    await control(strict_sandbox, "POST", "inbound", json={"from": CLIENT, "at": iso(at)})
    [form] = await final_statuses(receiver, await send(strict_client, receiver))
    assert form["MessageStatus"] == final


async def test_approved_templates_go_through_outside_the_window(strict_client, strict_sandbox: Sandbox,
                                                                receiver: Receiver) -> None:
    approved, pending, unsubmitted, picker = [await create_content(strict_client, body)
                                              for body in (CONFIRM, CONFIRM, CONFIRM, SERVICES)]
    await request_approval(strict_client, approved.sid, "confirmar_cita")
    await request_approval(strict_client, pending.sid, "confirmar_cita_b")
    await control(strict_sandbox, "POST", f"content/{pending.sid}/approval", json={"status": "pending"})
    template_text = "Hola Ana, ¿confirmas tu cita del martes 10:00?"

    sent = [await send(strict_client, receiver, body=None, content_sid=content.sid)
            for content in (approved, pending, unsubmitted, picker)]
    sent.append(await send(strict_client, receiver, body=template_text))  # the template's text as Body
    sent.append(await send(strict_client, receiver, body=None, media_url=["https://example.com/menu.jpg"]))

    statuses = [(f["MessageStatus"], f.get("ErrorCode")) for f in await final_statuses(receiver, *sent)]
    assert statuses[0] == ("delivered", None)
    assert statuses[1:] == [("failed", "63016")] * 5


async def test_sms_recipients_have_no_window(strict_client, receiver: Receiver) -> None:
    message = await strict_client.messages.create_async(to="+5215512345678", from_="+14155238886",
                                                        body="Recordatorio", status_callback=f"{receiver.url}/status")
    [form] = await final_statuses(receiver, message)
    assert form["MessageStatus"] == "delivered"


async def test_the_rule_can_be_switched_off_and_on(strict_client, strict_sandbox: Sandbox,
                                                   receiver: Receiver) -> None:
    shown = (await control(strict_sandbox, "GET", "window")).json()
    off = await control(strict_sandbox, "POST", "window", json={"enforce": False})
    free = await send(strict_client, receiver)
    on = await control(strict_sandbox, "POST", "window", json={"enforce": True})
    policed = await send(strict_client, receiver)
    bad = await control(strict_sandbox, "POST", "window", json={"enforce": "yes"})

    statuses = [f["MessageStatus"] for f in await final_statuses(receiver, free, policed)]
    assert (shown["enforce"], shown["hours"], off.json()["enforce"], on.json()["enforce"]) == (True, 24, False, True)
    assert statuses == ["delivered", "failed"] and bad.status_code == 400


async def test_clock_controls_and_message_dates(strict_client, strict_sandbox: Sandbox) -> None:
    future = datetime(2030, 1, 2, 9, 30, tzinfo=timezone.utc)
    moved = await control(strict_sandbox, "POST", "clock", json={"now": iso(future)})
    message = await strict_client.messages.create_async(to="+5215512345678", from_="+14155238886", body="hola")
    read = (await control(strict_sandbox, "GET", "clock")).json()
    await control(strict_sandbox, "DELETE", "clock")
    after = (await control(strict_sandbox, "GET", "clock")).json()
    bad = [await control(strict_sandbox, "POST", "clock", json=body)
           for body in ({}, {"now": "mañana"}, {"offset_seconds": "1"}, {"now": iso(future), "offset_seconds": 1})]

    assert moved.json()["now"].startswith("2030-01-02T09:3")
    assert read["now"].startswith("2030-01-02T09:3") and read["offset_seconds"] > 0
    assert abs(message.date_created - future) < timedelta(minutes=1)
    later = await strict_client.messages.create_async(to="+5215512345678", from_="+14155238886", body="x")
    assert after["offset_seconds"] == 0 and later.date_created.year < 2030
    assert [r.status_code for r in bad] == [400] * 4


async def test_inbound_controls(strict_sandbox: Sandbox) -> None:
    other = "whatsapp:+5215599999999"
    await control(strict_sandbox, "POST", "inbound", json={"from": CLIENT})
    await control(strict_sandbox, "POST", "inbound", json={"from": other, "at": "2020-01-01T00:00:00Z"})
    listed = (await control(strict_sandbox, "GET", "inbound")).json()
    await control(strict_sandbox, "DELETE", "inbound", params={"from": other})
    after_one = (await control(strict_sandbox, "GET", "inbound")).json()["recipients"]
    await control(strict_sandbox, "DELETE", "inbound")
    after_all = (await control(strict_sandbox, "GET", "inbound")).json()["recipients"]
    bad = [await control(strict_sandbox, "POST", "inbound", json=body)
           for body in ({}, {"from": "+5215512345678"}, {"from": CLIENT, "at": "ayer"})]
    unescaped = await control(strict_sandbox, "POST", "inbound", json={"from": "whatsapp: 5215512345678"})

    by_sender = {r["from"]: r for r in listed["recipients"]}
    assert by_sender[CLIENT]["window_open"] is True
    assert (by_sender[other]["window_open"], by_sender[other]["last_inbound"]) == (False, "2020-01-01T00:00:00Z")
    assert by_sender[other]["window_closes_at"] == "2020-01-02T00:00:00Z"
    assert [r["from"] for r in after_one] == [CLIENT] and after_all == []
    assert [r.status_code for r in bad] == [400] * 3
    assert unescaped.json()["from"] == CLIENT


def test_defaults_of_create_app(settings) -> None:
    """The rule starts off (see `window.ENFORCED_BY_DEFAULT`); unknown ContentSids are refused."""
    app = create_app(settings.twilio_account_sid, settings.twilio_auth_token)
    assert customer_window(app).enforce is ENFORCED_BY_DEFAULT is False
    assert content_store(app).allow_unknown is False
    assert create_app("AC1", "t", enforce_window=True)[WINDOW_KEY].enforce is True
