"""End to end through the webhook: signed Twilio requests in, replies read at the Twilio sandbox.

Real trained model, real Rasa server with our channel, real action server and booking sandbox, the
conversation log in Postgres.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime

import httpx
import pytest
import sqlalchemy as sa

from rasa_project.devtools.local_stack import LocalStack
from rasa_project.devtools.whatsapp_simulator import build_inbound_form, post_inbound
from tests.e2e.support import BOOKING_TOKEN, WhatsAppClient

pytestmark = pytest.mark.e2e

MONTHS = ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
          "noviembre", "diciembre"]


def booking_admin(stack: LocalStack) -> httpx.AsyncClient:
    """Direct access to the booking sandbox, to arrange data and inject faults."""
    return httpx.AsyncClient(base_url=stack.booking_url, headers={"Authorization": f"Bearer {BOOKING_TOKEN}"})


def user_events(engine: sa.engine.Engine, sender: str) -> list:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT data FROM events WHERE sender_id = :s AND type_name = 'user' ORDER BY id"), {"s": sender}
        ).all()
    return [json.loads(r.data) for r in rows]


async def test_signed_greeting_is_answered_by_name(ana: WhatsAppClient) -> None:
    [reply] = await ana.say("hola!")
    assert reply.startswith("¡Hola, Ana! 👋")


async def test_forged_or_missing_signature_is_refused(
    stack: LocalStack, http: httpx.AsyncClient, client: WhatsAppClient, log_engine: sa.engine.Engine
) -> None:
    form = build_inbound_form(client.phone, "hola")
    forged = await post_inbound(stack.webhook_url, form, "not-the-auth-token", client=http)
    missing = await http.post(stack.webhook_url, data=form)
    assert forged.status_code == missing.status_code == 403
    assert await client.settle(quiet=3) == []
    assert user_events(log_engine, client.phone) == []


async def test_same_message_sid_five_times_is_one_turn(client: WhatsAppClient, log_engine: sa.engine.Engine) -> None:
    sid = "SM" + uuid.uuid4().hex
    for _ in range(5):
        assert (await client.send("hola", sid=sid)).status_code == 200
    await client.replies(1)
    assert await client.settle(quiet=3) == []
    assert len(user_events(log_engine, client.phone)) == 1


async def test_long_reply_arrives_in_ordered_parts(
    stack: LocalStack, http: httpx.AsyncClient, client: WhatsAppClient
) -> None:
    async with booking_admin(stack) as api:
        created = await api.post("/clients", json={"phone": client.phone, "name": "Paula Gómez",
                                                   "email": "paula@example.com"})
        assert created.status_code == 201, created.text
        for _ in range(45):
            bought = await api.post("/client/purchase", json={"package_id": 2},
                                    headers={"X-Client-Phone": client.phone})
            assert bought.status_code == 201, bought.text
    await client.send("quiero ver mi historial de compras")
    parts = [m["body"] for m in await client.replies(2)]
    parts += [m["body"] for m in await client.settle(quiet=3)]
    text = "\n".join(parts)
    assert len(text) > 3500 and len(parts) >= 3
    assert all(len(p) <= 1600 for p in parts)
    assert parts[0].startswith("Estas son tus compras:")
    ids = [line.split("(")[-1].rstrip(")") for line in text.splitlines() if line.startswith("•")]
    assert len(ids) == 45 and ids == sorted(ids, reverse=True)  # newest first, nothing lost or reordered


async def test_media_only_and_location_are_answered(client: WhatsAppClient) -> None:
    await client.send(None, media=[("https://example.com/comprobante.jpg", "image/jpeg")])
    [media] = await client.replies(1)
    assert "solo puedo leer mensajes de texto" in media["body"]
    await client.send(None, location=(19.4326, -99.1332))
    [location] = await client.replies(1)
    assert "ubicación" in location["body"]


async def test_twilio_500_twice_then_accepted_is_delivered_once(
    stack: LocalStack, http: httpx.AsyncClient, client: WhatsAppClient
) -> None:
    faults = await http.post(f"{stack.twilio_url}/_sandbox/faults",
                             json={"outcomes": [{"status": 500}, {"status": 500}], "to": client.address})
    assert faults.status_code < 300
    [reply] = await client.say("hola")
    assert reply.startswith("¡Hola")
    assert await client.settle(quiet=3) == []


async def test_number_after_a_numbered_menu_picks_that_option(ana: WhatsAppClient) -> None:
    [menu] = await ana.say("ayuda")
    assert "2. Ver mis reservas" in menu
    [reply] = await ana.say("2")
    assert reply.startswith("Estas son tus próximas reservas:")


async def test_opt_out_is_honoured_until_opt_in(client: WhatsAppClient) -> None:
    [bye] = await client.say("BAJA")
    assert "ya no te enviaremos" in bye
    assert (await client.send("hola")).status_code == 200
    assert await client.settle(quiet=4) == []
    [back] = await client.say("ALTA")
    assert "Volverás a recibir" in back
    [hello] = await client.say("hola")
    assert hello.startswith("¡Hola")


async def test_cancelar_mi_cita_is_not_an_opt_out(client: WhatsAppClient) -> None:
    [reply] = await client.say("cancelar mi cita")
    assert "No encuentro tu número" in reply


async def test_booking_api_down_gets_an_apology_and_recovers(
    stack: LocalStack, client: WhatsAppClient, log_engine: sa.engine.Engine
) -> None:
    async with booking_admin(stack) as api:
        await api.post("/_sandbox/faults", json={"status": 503, "count": 50, "path_prefix": "/packages"})
        [apology] = await client.say("cuanto cuestan los paquetes?")
        assert "problema técnico" in apology
        await api.delete("/_sandbox/faults")
    [prices] = await client.say("y los precios de los paquetes?")
    assert "Bono 10 clases: $1,450.00 MXN" in prices
    with log_engine.connect() as conn:
        errors = conn.execute(sa.text(
            "SELECT data FROM events WHERE sender_id = :s AND type_name = 'bot'"), {"s": client.phone}).all()
    kinds = [json.loads(r.data).get("metadata", {}).get("error", {}).get("type") for r in errors]
    assert kinds.count("booking_api.unavailable") == 1


async def test_process_killed_after_ack_answers_after_restart(stack: LocalStack, client: WhatsAppClient) -> None:
    async with booking_admin(stack) as api:
        # The turn is in flight (its action waits on a slow API) when Rasa is killed.
        await api.post("/_sandbox/faults",
                       json={"status": None, "delay_ms": 4000, "count": 1, "path_prefix": "/packages"})
        assert (await client.send("que paquetes tienen?")).status_code == 200
        await asyncio.sleep(1.5)
        stack.kill("rasa")
        await api.delete("/_sandbox/faults")
    stack.restart("rasa")
    replies = [m["body"] for m in await client.replies(1, timeout=60)]
    assert any("Bono 10 clases" in r for r in replies)


async def test_paying_sends_a_link_from_the_sandbox(ana: WhatsAppClient) -> None:
    [ask] = await ana.say("quiero comprar un paquete")
    assert "Responde con el número" in ask and "3. Bono 10 clases" in ask
    [confirm] = await ana.say("3")
    assert "Bono 10 clases por $1,450.00 MXN" in confirm
    [link] = await ana.say("si")
    assert "/pay/PAY-" in link and "$1,450.00 MXN" in link


async def test_health_and_metrics(stack: LocalStack, http: httpx.AsyncClient) -> None:
    base = f"http://127.0.0.1:{stack.ports.rasa}/webhooks/whatsapp"
    health = await http.get(f"{base}/health")
    assert health.status_code == 200, health.text
    checks = health.json()["checks"]
    assert all(checks[name]["ok"] for name in ("model", "action_server", "tracker_db", "booking_api"))
    assert checks["llm"]["detail"].startswith("template")  # no key in this stack
    metrics = (await http.get(f"{base}/metrics")).text
    for name in ("whatsapp_inbound_messages_total", "assistant_turn_seconds", "whatsapp_outbound_messages_total",
                 "whatsapp_inbox_backlog"):
        assert name in metrics


async def test_new_client_registers_books_lists_and_cancels(stack: LocalStack, client: WhatsAppClient) -> None:
    [ask_name] = await client.say("hola, quiero agendar una clase de yoga")
    assert "¿Cómo te llamas?" in ask_name
    [ask_email] = await client.say("Sofía Ruiz")
    assert "correo" in ask_email
    [ask_time] = await client.say("sofia.ruiz@example.com")
    assert "¿Para qué día y hora?" in ask_time
    [confirm] = await client.say("el lunes a las 8")
    assert "Yoga Vinyasa" in confirm and "08:00" in confirm and "¿Lo confirmo?" in confirm
    welcome, booked, rating = await client.say("si", count=3)
    assert welcome.startswith("¡Bienvenida/o, Sofía Ruiz!")
    assert booked.startswith("✅ ¡Listo! Tu reserva RSV-")
    assert "¿Qué tal te atendí?" in rating  # the client ignores it: not asked again after the cancellation
    booking_id = booked.split("Tu reserva ")[1].split()[0]
    [listing] = await client.say("que reservas tengo?")
    assert booking_id in listing
    [ask_cancel] = await client.say("quiero cancelar mi reserva")
    assert "¿Cancelo tu reserva de Yoga Vinyasa" in ask_cancel
    [cancelled] = await client.say("si")
    assert cancelled.startswith(f"Listo, cancelé tu reserva {booking_id}")
    assert await client.settle(quiet=2) == []
    async with booking_admin(stack) as api:
        bookings = (await api.get("/client/bookings", params={"scope": "all"},
                                  headers={"X-Client-Phone": client.phone})).json()
    assert [(b["id"], b["status"]) for b in bookings] == [(booking_id, "cancelled")]


async def test_taken_slot_offers_alternatives_once_and_books_the_one_picked(
    stack: LocalStack, client: WhatsAppClient
) -> None:
    async with booking_admin(stack) as api:
        created = await api.post("/clients", json={"phone": client.phone, "name": "Marta Díaz",
                                                   "email": "marta@example.com"})
        assert created.status_code == 201, created.text
        full = datetime.fromisoformat((await api.get("/_sandbox/summary")).json()["full_slot"]["starts_at"])
    [offer] = await client.say(f"kiero agendar pilates el {full.day} de {MONTHS[full.month - 1]} a las 6")
    assert "no hay lugar para Pilates Reformer" in offer and "\n1. " in offer and "\n3. " in offer, offer
    assert await client.settle(quiet=3) == []  # no "¿Para qué día y hora?" after the alternatives
    second = offer.split("\n2. ")[1].splitlines()[0]
    [confirm] = await client.say("2")
    assert second in confirm and "¿Lo confirmo?" in confirm, (second, confirm)
    [booked] = await client.say("si")
    assert booked.startswith("✅ ¡Listo! Tu reserva RSV-") and second in booked, booked
