"""twilio-python 8.2.2's real async client against the sandbox: create, fetch, auth, validation, faults."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from twilio.base.exceptions import TwilioRestException

from tests.twilio_sandbox.conftest import Sandbox, make_client

CLIENT = "whatsapp:+5215512345678"
BUSINESS = "whatsapp:+14155238886"


async def test_create_returns_twilio_shaped_message(twilio_client, sandbox: Sandbox) -> None:
    message = await twilio_client.messages.create_async(to=CLIENT, from_=BUSINESS, body="¡Hola! ¿Qué tal? 👋")

    assert re.fullmatch(r"SM[0-9a-f]{32}", message.sid)
    assert message.account_sid == sandbox.account_sid
    assert (message.to, message.from_, message.body) == (CLIENT, BUSINESS, "¡Hola! ¿Qué tal? 👋")
    assert message.status == "queued"
    assert message.direction == "outbound-api"
    assert message.api_version == "2010-04-01"
    assert message.num_media == "0" and message.num_segments == "1"
    assert message.error_code is None and message.error_message is None and message.price is None
    assert message.price_unit == "USD"
    assert message.date_created is not None and message.date_updated is not None  # parsed RFC 2822
    assert message.uri == f"/2010-04-01/Accounts/{sandbox.account_sid}/Messages/{message.sid}.json"
    assert "media" in message.subresource_uris


async def test_fetch_returns_current_status(twilio_client) -> None:
    created = await twilio_client.messages.create_async(to=CLIENT, from_=BUSINESS, body="Tu cita está lista")
    await asyncio.sleep(0.3)

    fetched = await twilio_client.messages(created.sid).fetch_async()

    assert fetched.sid == created.sid
    assert fetched.status == "delivered"
    assert fetched.date_sent is not None


async def test_fetch_unknown_message_is_404(twilio_client) -> None:
    with pytest.raises(TwilioRestException) as error:
        await twilio_client.messages("SM" + "0" * 32).fetch_async()
    assert (error.value.status, error.value.code) == (404, 20404)


async def test_media_urls_and_messaging_service(twilio_client, sandbox: Sandbox) -> None:
    urls = ["https://example.com/a.jpg", "https://example.com/b.png"]
    message = await twilio_client.messages.create_async(
        to=CLIENT, messaging_service_sid="MG" + "1" * 32, media_url=urls
    )
    assert message.num_media == "2" and message.from_ is None
    assert message.messaging_service_sid == "MG" + "1" * 32

    async with httpx.AsyncClient() as http:
        recorded = (await http.get(f"{sandbox.base_url}/_sandbox/messages")).json()["messages"]
    assert recorded[-1]["media_urls"] == urls


async def test_wrong_token_is_401_with_twilio_error(sandbox: Sandbox) -> None:
    client = make_client(sandbox, token="not-the-token")
    try:
        with pytest.raises(TwilioRestException) as error:
            await client.messages.create_async(to=CLIENT, from_=BUSINESS, body="hola")
    finally:
        await client.http_client.close()
    assert (error.value.status, error.value.code) == (401, 20003)

    async with httpx.AsyncClient() as http:
        url = f"{sandbox.base_url}/2010-04-01/Accounts/{sandbox.account_sid}/Messages.json"
        response = await http.post(url, data={"To": CLIENT, "From": BUSINESS, "Body": "x"})
    assert response.status_code == 401
    assert response.json() == {"code": 20003, "message": "Authenticate",
                               "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401}


async def test_another_account_is_404(sandbox: Sandbox) -> None:
    client = make_client(sandbox, account_sid="AC" + "f" * 32)
    try:
        with pytest.raises(TwilioRestException) as error:
            await client.messages.create_async(to=CLIENT, from_=BUSINESS, body="hola")
    finally:
        await client.http_client.close()
    assert (error.value.status, error.value.code) == (404, 20404)


@pytest.mark.parametrize(
    "fields, code",
    [
        ({"to": "", "from_": BUSINESS, "body": "hola"}, 21604),
        ({"to": CLIENT, "body": "hola"}, 21603),
        ({"to": CLIENT, "from_": BUSINESS}, 21619),
        ({"to": CLIENT, "from_": BUSINESS, "body": "x" * 1601}, 21617),
        ({"to": CLIENT, "from_": BUSINESS, "body": "hola", "status_callback": "not a url"}, 21609),
    ],
)
async def test_validation_errors(twilio_client, sandbox: Sandbox, fields, code) -> None:
    with pytest.raises(TwilioRestException) as error:
        await twilio_client.messages.create_async(**fields)
    assert (error.value.status, error.value.code) == (400, code)

    async with httpx.AsyncClient() as http:
        stats = (await http.get(f"{sandbox.base_url}/_sandbox/stats")).json()
    assert stats["accepted"] == 0 and stats["rejected"] == {"400": 1}


async def test_body_of_exactly_1600_chars_and_content_sid_are_accepted(twilio_client) -> None:
    long = await twilio_client.messages.create_async(to=CLIENT, from_=BUSINESS, body="á" * 1600)
    template = await twilio_client.messages.create_async(
        to=CLIENT, from_=BUSINESS, content_sid="HX" + "a" * 32, content_variables='{"1": "10:00"}'
    )
    assert long.status == template.status == "queued"


async def test_faults_500_then_429_then_success(twilio_client, sandbox: Sandbox) -> None:
    async with httpx.AsyncClient() as http:
        queued = await http.post(f"{sandbox.base_url}/_sandbox/faults",
                                 json={"outcomes": [{"status": 500}, {"status": 429}]})
        assert queued.json() == {"pending": 2}

        for status, code in ((500, 20500), (429, 20429)):
            with pytest.raises(TwilioRestException) as error:
                await twilio_client.messages.create_async(to=CLIENT, from_=BUSINESS, body="hola")
            assert (error.value.status, error.value.code) == (status, code)
        message = await twilio_client.messages.create_async(to=CLIENT, from_=BUSINESS, body="hola")

        recorded = (await http.get(f"{sandbox.base_url}/_sandbox/messages")).json()
        stats = (await http.get(f"{sandbox.base_url}/_sandbox/stats")).json()
    assert [m["sid"] for m in recorded["messages"]] == [message.sid]
    assert stats["create_attempts"] == 3 and stats["accepted"] == 1
    assert stats["rejected"] == {"500": 1, "429": 1}


async def test_fault_filtered_by_recipient_and_cleared(twilio_client, sandbox: Sandbox) -> None:
    other = "whatsapp:+5215599999999"
    async with httpx.AsyncClient() as http:
        await http.post(f"{sandbox.base_url}/_sandbox/faults",
                        json={"outcomes": [{"status": 503}, {"status": 500}], "to": other})
        await twilio_client.messages.create_async(to=CLIENT, from_=BUSINESS, body="no me afecta")
        with pytest.raises(TwilioRestException) as error:
            await twilio_client.messages.create_async(to=other, from_=BUSINESS, body="a mí sí")
        assert error.value.status == 503
        assert (await http.delete(f"{sandbox.base_url}/_sandbox/faults")).status_code == 204
    await twilio_client.messages.create_async(to=other, from_=BUSINESS, body="ya pasó")


async def test_delay_fault_then_proceeds(twilio_client, sandbox: Sandbox) -> None:
    async with httpx.AsyncClient() as http:
        await http.post(f"{sandbox.base_url}/_sandbox/faults", json={"outcomes": [{"delay_ms": 400}]})
    started = time.monotonic()
    message = await twilio_client.messages.create_async(to=CLIENT, from_=BUSINESS, body="lento")
    assert time.monotonic() - started >= 0.4
    assert message.status == "queued"


async def test_bad_control_payloads_are_400(sandbox: Sandbox) -> None:
    async with httpx.AsyncClient() as http:
        assert (await http.post(f"{sandbox.base_url}/_sandbox/faults", content=b"{nope")).status_code == 400
        assert (await http.post(f"{sandbox.base_url}/_sandbox/faults",
                                json={"outcomes": 3})).status_code == 400
        assert (await http.post(f"{sandbox.base_url}/_sandbox/faults",
                                json={"outcomes": [{"status": 200}]})).status_code == 400
        assert (await http.post(f"{sandbox.base_url}/_sandbox/delivery",
                                json={"to": CLIENT, "final_status": "lost"})).status_code == 400
        assert (await http.get(f"{sandbox.base_url}/_sandbox/messages?after=x")).status_code == 400


async def test_list_filters_by_recipient_newest_first_and_pages(twilio_client) -> None:
    other = "whatsapp:+5215599999999"
    for n in range(5):
        await twilio_client.messages.create_async(to=CLIENT, from_=BUSINESS, body=f"mensaje {n}")
    await twilio_client.messages.create_async(to=other, from_=BUSINESS, body="para otra persona")

    listed = await twilio_client.messages.list_async(to=CLIENT, page_size=2)  # three pages, followed

    assert [m.body for m in listed] == [f"mensaje {n}" for n in (4, 3, 2, 1, 0)]
    assert await twilio_client.messages.list_async(to=CLIENT, from_="whatsapp:+10000000000") == []
    assert [m.body for m in await twilio_client.messages.list_async(to=other)] == ["para otra persona"]
    assert len(await twilio_client.messages.list_async(to=CLIENT, limit=3)) == 3


async def test_list_filters_by_date_sent(twilio_client) -> None:
    created = await twilio_client.messages.create_async(to=CLIENT, from_=BUSINESS, body="con fecha de envío")
    await asyncio.sleep(0.3)  # the sandbox moves it to sent, which stamps date_sent
    yesterday = datetime.now(timezone.utc) - timedelta(days=1)

    after = await twilio_client.messages.list_async(to=CLIENT, date_sent_after=yesterday)
    before = await twilio_client.messages.list_async(to=CLIENT, date_sent_before=yesterday)

    assert [m.sid for m in after] == [created.sid] and before == []
