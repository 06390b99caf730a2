"""Undeliverable recipients via `/_sandbox/delivery`: each code ends as Twilio ends it — 63003 and 63024
accepted then `failed` through the status callback, 21610 refused at create with HTTP 400."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from twilio.base.exceptions import TwilioRestException

from tests.twilio_sandbox.conftest import Receiver, Sandbox
from tests.twilio_sandbox.test_window import final_statuses

CLIENT = "whatsapp:+5215512345678"
BUSINESS = "whatsapp:+14155238886"


async def control(sandbox: Sandbox, method: str, path: str, **kwargs: Any) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.request(method, f"{sandbox.base_url}/_sandbox/{path}", **kwargs)


@pytest.mark.parametrize("code, text", [(63003, "Channel could not find To address"),
                                        (63024, "Invalid message recipient")])
async def test_channel_errors_are_accepted_then_failed(strict_client, strict_sandbox: Sandbox, receiver: Receiver,
                                                       code, text) -> None:
    await control(strict_sandbox, "POST", "inbound", json={"from": CLIENT})
    rule = await control(strict_sandbox, "POST", "delivery", json={"to": CLIENT, "error_code": code})
    message = await strict_client.messages.create_async(to=CLIENT, from_=BUSINESS, body="Tu cita está lista",
                                                        status_callback=f"{receiver.url}/status")
    [final] = await final_statuses(receiver, message)

    assert rule.json() == {"to": CLIENT, "final_status": "failed", "error_code": code}
    assert message.status == "queued"
    assert [c["form"]["MessageStatus"] for c in receiver.calls] == ["failed"]
    assert (final["ErrorCode"], final["ErrorMessage"]) == (str(code), text)
    fetched = await strict_client.messages(message.sid).fetch_async()
    assert (fetched.status, fetched.error_code) == ("failed", code)


async def test_unsubscribed_recipient_is_refused_at_create(strict_client, strict_sandbox: Sandbox) -> None:
    await control(strict_sandbox, "POST", "inbound", json={"from": CLIENT})
    rule = await control(strict_sandbox, "POST", "delivery", json={"to": CLIENT, "error_code": 21610})
    with pytest.raises(TwilioRestException) as error:
        await strict_client.messages.create_async(to=CLIENT, from_=BUSINESS, body="¿Sigues ahí?")
    recorded = (await control(strict_sandbox, "GET", "messages")).json()["messages"]
    stats = (await control(strict_sandbox, "GET", "stats")).json()
    await control(strict_sandbox, "DELETE", "delivery", params={"to": CLIENT})
    again = await strict_client.messages.create_async(to=CLIENT, from_=BUSINESS, body="¿Sigues ahí?")

    assert rule.json() == {"to": CLIENT, "final_status": "rejected", "error_code": 21610}
    assert (error.value.status, error.value.code) == (400, 21610)
    assert "Attempt to send to unsubscribed recipient" in error.value.msg
    assert recorded == [] and stats["accepted"] == 0 and stats["rejected"] == {"400": 1}
    assert again.status == "queued"


async def test_explicit_statuses_still_win_and_unknown_codes_stay_undelivered(
        twilio_client, sandbox: Sandbox, receiver: Receiver) -> None:
    other = "whatsapp:+5215599999999"
    await control(sandbox, "POST", "delivery", json={"to": CLIENT, "final_status": "undelivered", "error_code": 63003})
    await control(sandbox, "POST", "delivery", json={"to": other, "error_code": 30008})
    rejected = await control(sandbox, "POST", "delivery", json={"to": "+5215500000000", "final_status": "rejected"})
    first = await twilio_client.messages.create_async(to=CLIENT, from_=BUSINESS, body="x",
                                                      status_callback=f"{receiver.url}/a")
    second = await twilio_client.messages.create_async(to=other, from_=BUSINESS, body="x",
                                                       status_callback=f"{receiver.url}/b")
    finals = await final_statuses(receiver, first, second)

    assert [(f["MessageStatus"], f["ErrorCode"]) for f in finals] == [("undelivered", "63003"),
                                                                      ("undelivered", "30008")]
    assert rejected.json()["error_code"] == 21610


async def test_the_window_fails_a_send_before_the_channel_does(strict_client, strict_sandbox: Sandbox,
                                                               receiver: Receiver) -> None:
    await control(strict_sandbox, "POST", "delivery", json={"to": CLIENT, "error_code": 63003})
    message = await strict_client.messages.create_async(to=CLIENT, from_=BUSINESS, body="x",
                                                        status_callback=f"{receiver.url}/status")
    [final] = await final_statuses(receiver, message)
    assert final["ErrorCode"] == "63016"
