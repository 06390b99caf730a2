"""The simulator's forms are Twilio's, signed so RequestValidator accepts them; its REPL round-trips."""

from __future__ import annotations

import asyncio
import re
import sys
from typing import List

import pytest
from aiohttp import web
from twilio.request_validator import RequestValidator

from rasa_project.devtools.whatsapp_simulator import (
    RepliesTimeout,
    build_inbound_form,
    post_inbound,
    sign,
    wait_for_replies,
    whatsapp_address,
)
from rasa_project.settings import PROJECT_ROOT, Settings
from tests.twilio_sandbox.conftest import Sandbox, Starter, make_client, request_url

CLIENT = "+5215512345678"
PUBLIC_URL = "https://citas.example.com/webhooks/whatsapp/webhook"
TEXT_FIELDS = {"SmsMessageSid", "NumMedia", "ProfileName", "MessageType", "SmsSid", "WaId", "SmsStatus",
               "Body",
               "To", "NumSegments", "ReferralNumMedia", "MessageSid", "AccountSid", "From", "ApiVersion"}


def test_text_form_has_twilio_fields(settings: Settings) -> None:
    form = build_inbound_form(CLIENT, "Quiero una cita", profile_name="Ana López")

    assert set(form) == TEXT_FIELDS
    assert re.fullmatch(r"SM[0-9a-f]{32}", form["MessageSid"])
    assert form["MessageSid"] == form["SmsMessageSid"] == form["SmsSid"]
    assert form["From"] == "whatsapp:+5215512345678" and form["WaId"] == "5215512345678"
    assert form["To"] == settings.twilio_sender and form["AccountSid"] == settings.twilio_account_sid
    assert (form["Body"], form["ProfileName"]) == ("Quiero una cita", "Ana López")
    assert form["MessageType"] == "text"
    assert (form["NumMedia"], form["NumSegments"], form["SmsStatus"], form["ApiVersion"]) == (
        "0", "1", "received", "2010-04-01")


def test_media_location_and_button_forms() -> None:
    media = build_inbound_form(CLIENT, None, media=[("https://x.test/a.jpg", "image/jpeg"),
                                                    ("https://x.test/b.pdf", "application/pdf")])
    assert media["Body"] == "" and media["NumMedia"] == "2" and media["MessageType"] == "image"
    assert (media["MediaUrl1"], media["MediaContentType1"]) == ("https://x.test/b.pdf", "application/pdf")
    assert set(media) == TEXT_FIELDS | {"MediaUrl0", "MediaContentType0", "MediaUrl1", "MediaContentType1"}

    place = build_inbound_form(CLIENT, location=(19.4326, -99.1332), message_sid="SM" + "a" * 32)
    assert (place["Latitude"], place["Longitude"]) == ("19.4326", "-99.1332")
    assert place["MessageType"] == "location"
    assert place["MessageSid"] == "SM" + "a" * 32

    button = build_inbound_form(CLIENT, button=("/confirmar", "Sí, confirmar"))
    assert (button["ButtonPayload"], button["ButtonText"], button["Body"]) == ("/confirmar", "Sí, confirmar",
                                                                               "Sí, confirmar")
    assert button["MessageType"] == "button"


@pytest.mark.parametrize("raw", ["+52 1 55 1234 5678", "5215512345678", "whatsapp:+5215512345678"])
def test_whatsapp_address_normalises(raw: str) -> None:
    assert whatsapp_address(raw) == "whatsapp:+5215512345678"


def test_whatsapp_address_rejects_garbage() -> None:
    with pytest.raises(ValueError):
        whatsapp_address("hola")


@pytest.mark.parametrize(
    "form",
    [
        build_inbound_form(CLIENT, "¡hola! ¿qué tal? 👋", profile_name="Begoña Núñez"),
        build_inbound_form(CLIENT, "mi foto", media=[("https://x.test/a.jpg?sig=a+b&x=1", "image/jpeg")]),
        build_inbound_form(CLIENT, location=(19.4326, -99.1332)),
    ],
    ids=["unicode", "media", "location"],
)
async def test_signature_verifies_locally_and_over_http(form, settings: Settings, start_app: Starter) -> None:
    token = settings.twilio_auth_token
    assert RequestValidator(token).validate(PUBLIC_URL, form, sign(PUBLIC_URL, form, token))
    assert not RequestValidator(token).validate(PUBLIC_URL, {**form, "Body": "otra cosa"},
                                                sign(PUBLIC_URL, form, token))

    seen: List[dict] = []

    async def webhook(request: web.Request) -> web.Response:
        posted = await request.post()
        signature = request.headers["X-Twilio-Signature"]
        seen.append({"form": dict(posted),
                     "own_url": RequestValidator(token).validate(request_url(request), posted, signature),
                     "public_url": RequestValidator(token).validate(PUBLIC_URL, posted, signature)})
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/webhooks/whatsapp/webhook", webhook)
    url = await start_app(app) + "/webhooks/whatsapp/webhook"

    assert (await post_inbound(url, form, token)).status_code == 204
    assert (await post_inbound(url, form, token, signed_url=PUBLIC_URL)).status_code == 204
    assert seen[0]["form"] == form  # the unicode survived the form encoding unchanged
    assert (seen[0]["own_url"], seen[1]["public_url"]) == (True, True)
    assert (seen[0]["public_url"], seen[1]["own_url"]) == (False, False)


async def test_wait_for_replies(twilio_client, sandbox: Sandbox, settings: Settings) -> None:
    async def reply_later() -> None:
        await asyncio.sleep(0.2)
        for text in ("Hola, soy el asistente", "¿En qué te ayudo?"):
            await twilio_client.messages.create_async(to=f"whatsapp:{CLIENT}", from_=settings.twilio_sender,
                                                      body=text)

    task = asyncio.create_task(reply_later())
    replies = await wait_for_replies(sandbox.base_url, CLIENT, 0, min_count=2, timeout=5)
    await task
    assert [r["body"] for r in replies] == ["Hola, soy el asistente", "¿En qué te ayudo?"]

    with pytest.raises(RepliesTimeout) as error:
        await wait_for_replies(sandbox.base_url, CLIENT, replies[-1]["index"], timeout=0.3)
    assert error.value.replies == []


async def test_repl_round_trip_through_a_fake_webhook(sandbox: Sandbox, settings: Settings,
                                                      start_app: Starter) -> None:
    """Drive `python -m rasa_project.devtools.whatsapp_simulator` with stdin; a tiny webhook echoes via the sandbox."""
    client = make_client(sandbox)
    inbound: List[dict] = []
    tasks: List[asyncio.Task] = []

    async def echo(form: dict) -> None:
        await asyncio.sleep(0.05)
        media = [form["MediaUrl0"]] if form.get("MediaUrl0") else []
        body = f"eco: {form['Body'] or form['MessageType']}"
        if form.get("Latitude"):
            body += f" {form['Latitude']},{form['Longitude']}"
        await client.messages.create_async(to=form["From"], from_=settings.twilio_sender, body=body,
                                           **({"media_url": media} if media else {}))

    async def webhook(request: web.Request) -> web.Response:
        form = dict(await request.post())
        if not RequestValidator(settings.twilio_auth_token).validate(
                request_url(request), form, request.headers.get("X-Twilio-Signature", "")):
            return web.Response(status=403)
        inbound.append(form)
        tasks.append(asyncio.create_task(echo(form)))  # ack at once, reply in the background
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/webhooks/whatsapp/webhook", webhook)
    webhook_url = await start_app(app) + "/webhooks/whatsapp/webhook"

    stdin = "¡hola! ¿qué tal? 👋\n/foto https://example.com/corte.jpg\n/ubicacion 19.4326 -99.1332\n"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "rasa_project.devtools.whatsapp_simulator", "--from", CLIENT, "--name", "Ana López",
        "--webhook", webhook_url, "--signed-url", webhook_url, "--sandbox", sandbox.base_url,
        "--drain-seconds", "10", "--quiet-seconds", "0.5",
        cwd=str(PROJECT_ROOT), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(stdin.encode()), timeout=30)
    finally:
        await asyncio.gather(*tasks, return_exceptions=True)
        await client.http_client.close()
    stdout, stderr = out.decode(), err.decode()

    assert process.returncode == 0, stderr
    assert [f["MessageType"] for f in inbound] == ["text", "image", "location"]
    assert inbound[0]["Body"] == "¡hola! ¿qué tal? 👋" and inbound[0]["ProfileName"] == "Ana López"
    assert "bot> eco: ¡hola! ¿qué tal? 👋" in stdout
    assert "bot> [media] https://example.com/corte.jpg" in stdout
    assert "bot> eco: location 19.4326,-99.1332" in stdout
    assert "webhook respondió" not in stderr


async def test_repl_stops_at_salir(sandbox: Sandbox, start_app: Starter) -> None:
    posted: List[dict] = []

    async def webhook(request: web.Request) -> web.Response:
        posted.append(dict(await request.post()))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", webhook)
    url = await start_app(app) + "/hook"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "rasa_project.devtools.whatsapp_simulator",
        "--webhook", url, "--sandbox", sandbox.base_url,
        "--drain-seconds", "0.2", cwd=str(PROJECT_ROOT), stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(process.communicate(b"uno\n/salir\ndos\n"), timeout=20)
    assert process.returncode == 0
    assert [p["Body"] for p in posted] == ["uno"]
    assert "Escribes como" in out.decode()


def test_lines_typed_after_the_chat_ended_are_dropped_quietly(monkeypatch: pytest.MonkeyPatch) -> None:
    """After /salir the event loop is closed; a line still arriving on stdin (piped input, a late Enter)
    must not end in a traceback from the reader thread."""
    import io
    import threading

    from rasa_project.devtools import whatsapp_simulator

    release = threading.Event()

    class LateStdin(io.StringIO):
        def __iter__(self):  # type: ignore[override]
            release.wait(5)
            return iter(["una línea tardía\n"])

    errors: List[BaseException] = []
    monkeypatch.setattr(threading, "excepthook", lambda hook_args: errors.append(hook_args.exc_value))
    monkeypatch.setattr(sys, "stdin", LateStdin())
    loop = asyncio.new_event_loop()
    whatsapp_simulator._stdin_lines(loop)
    loop.close()
    release.set()
    reader = next(t for t in threading.enumerate() if t.name == "stdin-reader")
    reader.join(5)
    assert not reader.is_alive() and errors == []
