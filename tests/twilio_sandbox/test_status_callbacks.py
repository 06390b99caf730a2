"""Status callbacks arrive in order, signed like Twilio's; the long-poll wakes on arrival."""

from __future__ import annotations

import asyncio
import socket
import time

import httpx
from twilio.request_validator import RequestValidator

from tests.twilio_sandbox.conftest import Receiver, Sandbox

CLIENT = "whatsapp:+5215512345678"
BUSINESS = "whatsapp:+14155238886"


def _assert_signed(call: dict, auth_token: str) -> None:
    assert RequestValidator(auth_token).validate(call["url"], call["form"], call["signature"]), call


async def test_callbacks_in_order_and_signed(twilio_client, sandbox: Sandbox, receiver: Receiver) -> None:
    callback = f"{receiver.url}/webhooks/whatsapp/status?attempt=1&canal=whatsapp"
    message = await twilio_client.messages.create_async(
        to=CLIENT, from_=BUSINESS, body="Tu cita quedó el martes", status_callback=callback
    )

    calls = await receiver.wait(2)
    await asyncio.sleep(0.1)

    assert len(calls) == 2  # none for the status the message was created with (`queued`, in the response)
    assert message.status == "queued"
    assert [c["form"]["MessageStatus"] for c in calls] == ["sent", "delivered"]
    for call in calls:
        assert call["url"] == callback
        _assert_signed(call, sandbox.auth_token)
        form = call["form"]
        assert form["MessageSid"] == form["SmsSid"] == message.sid
        assert form["SmsStatus"] == form["MessageStatus"]
        assert (form["AccountSid"], form["From"], form["To"]) == (sandbox.account_sid, BUSINESS, CLIENT)
        assert (form["ApiVersion"], form["ChannelPrefix"]) == ("2010-04-01", "whatsapp")
        assert "ErrorCode" not in form
    first = calls[0]
    assert not RequestValidator("another-token").validate(first["url"], first["form"], first["signature"])


async def test_through_a_messaging_service_it_is_created_accepted_and_reports_queued(
    twilio_client, sandbox: Sandbox, receiver: Receiver
) -> None:
    """Twilio: a Message created through a Messaging Service starts `accepted` (no callback for it), then
    calls back `queued`, `sent`, `delivered`; one created from a number starts `queued` (no callback)."""
    message = await twilio_client.messages.create_async(
        to=CLIENT, messaging_service_sid="MG" + "0" * 32, body="Hola", status_callback=f"{receiver.url}/status"
    )
    calls = await receiver.wait(3)
    assert message.status == "accepted"
    assert [c["form"]["MessageStatus"] for c in calls] == ["queued", "sent", "delivered"]
    assert {c["form"]["MessagingServiceSid"] for c in calls} == {"MG" + "0" * 32}


async def test_undelivered_recipient_gets_error_code(
    twilio_client, sandbox: Sandbox, receiver: Receiver
) -> None:
    async with httpx.AsyncClient() as http:
        rule = await http.post(f"{sandbox.base_url}/_sandbox/delivery",
                               json={"to": CLIENT, "final_status": "undelivered", "error_code": 63016})
        assert rule.status_code == 200
    message = await twilio_client.messages.create_async(
        to=CLIENT, from_=BUSINESS, body="Recordatorio", status_callback=f"{receiver.url}/status"
    )

    calls = await receiver.wait(2)

    assert [c["form"]["MessageStatus"] for c in calls] == ["sent", "undelivered"]
    assert calls[-1]["form"]["ErrorCode"] == "63016" and calls[-1]["form"]["ErrorMessage"]
    assert "ErrorCode" not in calls[0]["form"]
    for call in calls:
        _assert_signed(call, sandbox.auth_token)
    fetched = await twilio_client.messages(message.sid).fetch_async()
    assert (fetched.status, fetched.error_code) == ("undelivered", 63016)


async def test_failed_recipient_skips_sent(twilio_client, sandbox: Sandbox, receiver: Receiver) -> None:
    async with httpx.AsyncClient() as http:
        await http.post(f"{sandbox.base_url}/_sandbox/delivery",
                        json={"to": CLIENT, "final_status": "failed", "error_code": 63024})
    await twilio_client.messages.create_async(to=CLIENT, from_=BUSINESS, body="x",
                                              status_callback=f"{receiver.url}/status")
    calls = await receiver.wait(1)
    assert [c["form"]["MessageStatus"] for c in calls] == ["failed"]
    assert calls[-1]["form"]["ErrorCode"] == "63024"


async def test_unreachable_callback_is_logged_not_fatal(twilio_client, sandbox: Sandbox) -> None:
    with socket.socket() as sock:  # a port nobody listens on once closed
        sock.bind(("127.0.0.1", 0))
        dead_port = sock.getsockname()[1]
    message = await twilio_client.messages.create_async(
        to=CLIENT, from_=BUSINESS, body="x", status_callback=f"http://127.0.0.1:{dead_port}/status"
    )
    async with httpx.AsyncClient() as http:
        for _ in range(100):
            stats = (await http.get(f"{sandbox.base_url}/_sandbox/stats")).json()
            if stats["callback_failures"] >= 2:
                break
            await asyncio.sleep(0.05)
    assert stats["callback_failures"] == 2 and stats["callbacks_sent"] == 0
    assert (await twilio_client.messages(message.sid).fetch_async()).status == "delivered"
    again = await twilio_client.messages.create_async(to=CLIENT, from_=BUSINESS, body="sigo")
    assert again.status == "queued"


async def test_long_poll_returns_as_soon_as_a_message_arrives(twilio_client, sandbox: Sandbox) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        first = (await http.get(f"{sandbox.base_url}/_sandbox/messages", params={"to": CLIENT})).json()
        assert first == {"messages": [], "last_index": 0}

        started = time.monotonic()
        poll = asyncio.create_task(http.get(f"{sandbox.base_url}/_sandbox/messages",
                                            params={"to": CLIENT, "after": 0, "wait": 20}))
        await asyncio.sleep(0.2)
        assert not poll.done()
        await twilio_client.messages.create_async(to="whatsapp:+5215500000000", from_=BUSINESS, body="otro")
        await asyncio.sleep(0.1)
        assert not poll.done()  # a message to someone else does not answer this poll
        sent = await twilio_client.messages.create_async(to=CLIENT, from_=BUSINESS, body="¡listo!")
        result = (await poll).json()
        elapsed = time.monotonic() - started

    assert elapsed < 5
    assert [m["sid"] for m in result["messages"]] == [sent.sid]
    assert result["messages"][0]["index"] == 2 and result["last_index"] == 2


async def test_long_poll_times_out_empty_and_indexes_survive_clear(twilio_client, sandbox: Sandbox) -> None:
    await twilio_client.messages.create_async(to=CLIENT, from_=BUSINESS, body="uno")
    async with httpx.AsyncClient(timeout=30) as http:
        assert (await http.delete(f"{sandbox.base_url}/_sandbox/messages")).status_code == 204
        started = time.monotonic()
        empty = (await http.get(f"{sandbox.base_url}/_sandbox/messages",
                                params={"after": 1, "wait": 0.3})).json()
        assert time.monotonic() - started >= 0.3
        assert empty == {"messages": [], "last_index": 1}

        await twilio_client.messages.create_async(to=CLIENT, from_=BUSINESS, body="dos")
        # an unescaped "+" in the query decodes to a space; the sandbox repairs it
        raw = await http.get(f"{sandbox.base_url}/_sandbox/messages?to={CLIENT}&after=1")
    assert [(m["index"], m["body"]) for m in raw.json()["messages"]] == [(2, "dos")]
