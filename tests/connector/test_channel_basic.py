"""Integration: signed webhook → inbox → worker → echo turn → Twilio sandbox, over real HTTP and Postgres."""

import asyncio

import httpx

from rasa_project.devtools.whatsapp_simulator import build_inbound_form, post_inbound, sign
from tests.connector.support import AUTH_TOKEN, eventually

NUMBER = "+5215511110001"


async def test_signed_message_gets_reply(start_channel, sandbox):
    channel = await start_channel()
    response = await channel.send(NUMBER, "¡Hola! ¿Hay citas?")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    assert "<Response/>" in response.text
    replies = await channel.replies(sandbox, NUMBER)
    assert replies[0]["body"] == "eco: ¡Hola! ¿Hay citas?"
    assert replies[0]["to"] == f"whatsapp:{NUMBER}"
    assert replies[0]["status_callback"] == f"{channel.base}/webhooks/whatsapp/status"
    message = channel.received[0]
    assert message.sender_id == NUMBER and message.input_channel == "whatsapp"
    assert message.metadata["profile_name"] == "Cliente" and message.metadata["wa_id"] == NUMBER[1:]
    rows = await eventually(lambda: channel.query("SELECT status, attempts, public_base_url FROM whatsapp_inbox "
                                                  "WHERE status = 'done'"))
    assert rows == [("done", 1, channel.base)]


async def test_forged_or_missing_signature_is_403_and_stores_nothing(start_channel):
    channel = await start_channel()
    form = build_inbound_form(NUMBER, "hola")
    async with httpx.AsyncClient() as client:
        missing = await client.post(channel.webhook_url, data=form)
        forged = await client.post(channel.webhook_url, data=form,
                                   headers={"X-Twilio-Signature": sign(channel.webhook_url, form, "wrong-token")})
        tampered = await client.post(channel.webhook_url, data={**form, "Body": "otro"},
                                     headers={"X-Twilio-Signature": sign(channel.webhook_url, form, AUTH_TOKEN)})
        status = await client.post(channel.status_url, data={"MessageSid": "SMx", "MessageStatus": "sent"})
    assert [missing.status_code, forged.status_code, tampered.status_code, status.status_code] == [403] * 4
    assert channel.query("SELECT count(*) FROM whatsapp_inbox") == [(0,)]
    assert channel.query("SELECT count(*) FROM whatsapp_status_events") == [(0,)]
    assert channel.received == []


async def test_public_url_behind_proxy_is_what_gets_validated(start_channel):
    public = "https://bot.example.com/rasa"
    channel = await start_channel(webhook_public_url=public)
    form = build_inbound_form(NUMBER, "hola")
    internal = await post_inbound(channel.webhook_url, form, AUTH_TOKEN)
    assert internal.status_code == 403
    ok = await post_inbound(channel.webhook_url, form, AUTH_TOKEN,
                            signed_url=f"{public}/webhooks/whatsapp/webhook")
    assert ok.status_code == 200
    assert channel.query("SELECT public_base_url FROM whatsapp_inbox") == [(public,)]


async def test_forwarded_headers_are_honoured_without_public_url(start_channel):
    channel = await start_channel()
    form = build_inbound_form(NUMBER, "hola")
    signed_for = "https://tunnel.example.net/webhooks/whatsapp/webhook"
    async with httpx.AsyncClient() as client:
        response = await client.post(channel.webhook_url, data=form, headers={
            "X-Twilio-Signature": sign(signed_for, form, AUTH_TOKEN),
            "X-Forwarded-Proto": "https", "X-Forwarded-Host": "tunnel.example.net"})
    assert response.status_code == 200


async def test_same_message_sid_five_times_is_processed_once(start_channel, sandbox):
    channel = await start_channel()
    form = build_inbound_form(NUMBER, "una vez")
    responses = await asyncio.gather(*(post_inbound(channel.webhook_url, form, AUTH_TOKEN) for _ in range(5)))
    assert all(r.status_code == 200 for r in responses)
    await channel.replies(sandbox, NUMBER)
    await asyncio.sleep(0.5)
    assert len(await sandbox.messages(f"whatsapp:{NUMBER}")) == 1
    assert len(channel.received) == 1
    assert channel.query("SELECT count(*) FROM whatsapp_inbox") == [(1,)]


async def test_health_and_metrics(start_channel):
    channel = await start_channel()
    async with httpx.AsyncClient() as client:
        health = await client.get(f"{channel.base}/webhooks/whatsapp/")
        await channel.send(NUMBER, "hola")
        metrics = await client.get(f"{channel.base}/webhooks/whatsapp/metrics")
    assert health.status_code == 200
    assert health.json() == {"status": "ok", "db_reachable": True, "inbox_backlog": 0, "worker_running": True}
    assert 'whatsapp_inbound_messages_total{outcome="accepted"}' in metrics.text
    assert "whatsapp_webhook_ack_seconds" in metrics.text


async def test_unsigned_mode_accepts_without_signature(start_channel, sandbox, caplog):
    channel = await start_channel(webhook_validate_signature=False)
    async with httpx.AsyncClient() as client:
        response = await client.post(channel.webhook_url, data=build_inbound_form(NUMBER, "sin firma"))
    assert response.status_code == 200
    assert "UNSIGNED" in caplog.text
    assert (await channel.replies(sandbox, NUMBER))[0]["body"] == "eco: sin firma"
