"""Integration: ordering, retries, failures, media, options, opt-out, rate limit, status, crash recovery."""

import asyncio
import random

from connectors.whatsapp import notices
from connectors.whatsapp.inbound import parse_inbound_form
from connectors.whatsapp.inbox_store import InboxStore
from rasa_project.conversation_log.database import create_log_engine
from rasa_project.conversation_log.migrations import migrate
from rasa_project.devtools.whatsapp_simulator import build_inbound_form, post_inbound
from tests.connector.support import AUTH_TOKEN, eventually

A, B, C = "+5215522220001", "+5215522220002", "+5215522220003"


async def test_per_sender_order_under_concurrency(start_channel, sandbox):
    active = {"now": 0, "max": 0}

    async def slow_echo(message):
        active["now"] += 1
        active["max"] = max(active["max"], active["now"])
        await asyncio.sleep(random.uniform(0, 0.03))
        await message.output_channel.send_text_message(message.sender_id, f"eco: {message.text}")
        await message.output_channel.send_text_message(message.sender_id, f"fin: {message.text}")
        active["now"] -= 1

    channel = await start_channel(slow_echo)
    senders = [A, B, C]
    posts = [channel.send(s, f"{s[-1]}-{i}") for i in range(10) for s in senders]
    assert all(r.status_code == 200 for r in await asyncio.gather(*posts))
    for s in senders:
        rows = channel.query("SELECT body FROM whatsapp_inbox WHERE sender_id = :s ORDER BY id", s=s)
        accepted = [r[0] for r in rows]
        replies = await channel.replies(sandbox, s, min_count=20, timeout=30)
        assert [r["body"] for r in replies] == [f"{k}: {b}" for b in accepted for k in ("eco", "fin")]
        assert [m.text for m in channel.received if m.sender_id == s] == accepted
    assert active["max"] > 1  # different senders ran concurrently


async def test_two_instances_share_the_inbox_in_order(start_channel, sandbox):
    one, two = await start_channel(), await start_channel()
    posts = [post_inbound((one if i % 2 else two).webhook_url, build_inbound_form(A, f"m{i}"), AUTH_TOKEN)
             for i in range(12)]
    await asyncio.gather(*posts)
    accepted = [r[0] for r in one.query("SELECT body FROM whatsapp_inbox ORDER BY id")]
    replies = await one.replies(sandbox, A, min_count=12, timeout=30)
    assert [r["body"] for r in replies] == [f"eco: {b}" for b in accepted]
    await asyncio.sleep(0.3)
    assert len(one.received) + len(two.received) == 12


async def test_twilio_500_twice_then_accepted_is_sent_once(start_channel, sandbox):
    channel = await start_channel()
    await sandbox.faults([{"status": 500}, {"status": 500}], to=f"whatsapp:{A}")
    await channel.send(A, "hola")
    assert [r["body"] for r in await channel.replies(sandbox, A)] == ["eco: hola"]
    rows = await eventually(lambda: channel.query(
        "SELECT attempts, status FROM whatsapp_outbound WHERE status = 'delivered'"))
    assert rows == [(3, "delivered")]
    await asyncio.sleep(0.3)
    assert len(await sandbox.messages(f"whatsapp:{A}")) == 1


async def test_twilio_400_is_not_retried_and_recorded_failed(start_channel, sandbox):
    channel = await start_channel()
    await sandbox.faults([{"status": 400, "code": 21211, "message": "Invalid 'To' Phone Number"}], to=f"whatsapp:{A}")
    await channel.send(A, "hola")
    rows = await eventually(lambda: channel.query(  # the row exists ('sending') before Twilio answers
        "SELECT attempts, status, error_code, error_message FROM whatsapp_outbound WHERE status <> 'sending'"))
    assert rows[0][:3] == (1, "failed", 21211) and "400" in rows[0][3]
    assert (await sandbox.stats())["create_attempts"] == 1
    # the turn itself succeeded: the inbound message is done, not retried
    assert channel.query("SELECT status FROM whatsapp_inbox") == [("done",)]


async def test_media_only_and_location(start_channel, sandbox):
    channel = await start_channel()
    await channel.send(A, None, media=[("https://media.example/foto.jpg", "image/jpeg")])
    await channel.send(A, None, location=(19.4326, -99.1332))
    replies = await channel.replies(sandbox, A, min_count=2)
    assert [r["body"] for r in replies] == ["eco: /enviar_media", "eco: /enviar_ubicacion"]
    media, location = channel.received
    assert media.metadata["media"] == [{"url": "https://media.example/foto.jpg", "content_type": "image/jpeg"}]
    assert location.metadata["location"]["latitude"] == 19.4326 and location.metadata["kind"] == "location"


async def test_numbered_option_maps_to_payload_once(start_channel, sandbox):
    async def menu_bot(message):
        if message.text == "menu":
            await message.output_channel.send_text_with_buttons(message.sender_id, "¿Qué servicio?", [
                {"title": "Yoga", "payload": '/elegir{"s":"yoga"}'},
                {"title": "Masaje", "payload": '/elegir{"s":"masaje"}'}])
        else:
            await message.output_channel.send_text_message(message.sender_id, f"eco: {message.text}")

    channel = await start_channel(menu_bot)
    await channel.send(A, "menu")
    menu = await channel.replies(sandbox, A)
    assert menu[0]["body"] == "¿Qué servicio?\n\n1. Yoga\n2. Masaje"
    await channel.send(A, "la 2")
    await channel.replies(sandbox, A, min_count=2)
    await channel.send(A, "2")
    replies = await channel.replies(sandbox, A, min_count=3)
    assert [r["body"] for r in replies[1:]] == ['eco: /elegir{"s":"masaje"}', "eco: 2"]
    assert channel.received[1].metadata["original_text"] == "la 2"


async def test_opt_out_and_opt_in(start_channel, sandbox):
    channel = await start_channel()
    await channel.send(A, "cancelar mi cita")
    await channel.send(A, "¡BAJA!")
    await channel.send(A, "hola?")
    replies = await channel.replies(sandbox, A, min_count=2)
    assert [r["body"] for r in replies] == ["eco: cancelar mi cita", notices.OPTED_OUT]
    await eventually(lambda: channel.query("SELECT 1 FROM whatsapp_inbox WHERE status = 'opted_out'"))
    proactive = channel.input_channel.get_output_channel()
    await proactive.send_text_message(A, "recordatorio")
    assert channel.query("SELECT status FROM whatsapp_outbound WHERE body = 'recordatorio'") == [("suppressed",)]
    await channel.send(A, "Alta")
    await channel.send(A, "hola de nuevo")
    replies = await channel.replies(sandbox, A, min_count=4)
    assert [r["body"] for r in replies[2:]] == [notices.OPTED_IN, "eco: hola de nuevo"]
    assert [m.text for m in channel.received] == ["cancelar mi cita", "hola de nuevo"]


async def test_rate_limit_stores_excess_and_notifies_once(start_channel, sandbox):
    channel = await start_channel(rate_limit_messages=3, rate_limit_window_seconds=60)
    for i in range(6):
        assert (await channel.send(A, f"m{i}")).status_code == 200
    await eventually(lambda: channel.query("SELECT count(*) FROM whatsapp_inbox WHERE status IN ('pending', "
                                           "'processing')") == [(0,)])
    await asyncio.sleep(0.3)
    bodies = [r["body"] for r in await sandbox.messages(f"whatsapp:{A}")]
    assert bodies == ["eco: m0", "eco: m1", "eco: m2", notices.RATE_LIMITED]
    assert channel.query("SELECT count(*) FROM whatsapp_inbox WHERE status = 'rate_limited'") == [(3,)]


async def test_status_callbacks_recorded(start_channel, sandbox):
    channel = await start_channel()
    await sandbox.client.post(f"{sandbox.url}/_sandbox/delivery",
                              json={"to": f"whatsapp:{B}", "final_status": "undelivered", "error_code": 63016})
    await channel.send(A, "hola")
    await channel.send(B, "hola")
    delivered = await eventually(lambda: channel.query(
        "SELECT o.twilio_sid FROM whatsapp_outbound o WHERE o.sender_id = :s AND o.status = 'delivered'", s=A))
    events = channel.query("SELECT status FROM whatsapp_status_events WHERE twilio_sid = :sid ORDER BY id",
                           sid=delivered[0][0])
    assert [e[0] for e in events][-1] == "delivered" and len(events) >= 2
    failed = await eventually(lambda: channel.query(
        "SELECT status, error_code FROM whatsapp_outbound WHERE sender_id = :s AND status = 'undelivered'", s=B))
    assert failed == [("undelivered", 63016)]


async def test_turn_failure_is_retried_then_marked_failed(start_channel, sandbox):
    calls = {"flaky": 0}

    async def handler(message):
        if message.text == "siempre falla":
            raise ValueError("boom")
        if message.text == "falla una vez" and calls["flaky"] == 0:
            calls["flaky"] += 1
            raise ConnectionError("tracker store down")
        await message.output_channel.send_text_message(message.sender_id, f"eco: {message.text}")

    channel = await start_channel(handler)
    await channel.send(A, "falla una vez")
    await channel.send(B, "siempre falla")
    assert (await channel.replies(sandbox, A))[0]["body"] == "eco: falla una vez"
    rows = await eventually(lambda: channel.query(
        "SELECT attempts, last_error FROM whatsapp_inbox WHERE sender_id = :s AND status = 'failed'", s=B))
    assert rows == [(3, "ValueError: boom")]
    assert channel.query("SELECT status, attempts FROM whatsapp_inbox WHERE sender_id = :s", s=A) == [("done", 2)]


async def test_long_text_and_image_responses(start_channel, sandbox):
    long_text = "\n\n".join(f"Párrafo {p}. " + "palabra " * 150 for p in range(3))

    async def handler(message):
        await message.output_channel.send_response(message.sender_id, {"text": long_text, "facts": {"x": 1}})
        await message.output_channel.send_response(message.sender_id, {"image": "https://media.example/mapa.png"})
        await message.output_channel.send_response(message.sender_id, {"custom": {"sin": "texto"}})

    channel = await start_channel(handler)
    await channel.send(A, "hola")
    replies = await channel.replies(sandbox, A, min_count=4)
    bodies = [r["body"] for r in replies[:-1]]
    assert all(len(b) <= 1600 for b in bodies) and " ".join(bodies).split() == long_text.split()
    assert replies[-1]["media_urls"] == ["https://media.example/mapa.png"]


async def test_pending_message_left_by_a_crash_is_processed_after_restart(settings, start_channel, sandbox):
    engine = create_log_engine(settings.tracker_db_url, settings)
    migrate(engine)
    store = InboxStore(engine)
    for body in ("antes del crash 1", "antes del crash 2"):
        message = parse_inbound_form(build_inbound_form(A, body), 1000)
        store.accept(message, "http://127.0.0.1:1")
    # the first one was being processed by an instance that died: its lease has expired
    claim = store.claim_next(A, "dead-instance", lease_seconds=-1)
    assert claim.row is not None
    engine.dispose()
    channel = await start_channel()
    replies = await channel.replies(sandbox, A, min_count=2)
    assert [r["body"] for r in replies] == ["eco: antes del crash 1", "eco: antes del crash 2"]
    await eventually(lambda: channel.query("SELECT count(*) FROM whatsapp_inbox WHERE status = 'done'") == [(2,)])
    assert channel.query("SELECT attempts FROM whatsapp_inbox ORDER BY id") == [(2,), (1,)]
