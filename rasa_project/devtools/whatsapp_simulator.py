"""Be the client on WhatsApp without a phone: build, sign and post what Twilio would, read the replies.

Library part (end-to-end tests use it too): `build_inbound_form` makes exactly the form Twilio posts for
an inbound WhatsApp message (`sms_inbound_form` an SMS), `sign`/`post_inbound` sign it (and report the
inbound message to the Twilio sandbox, whose 24-hour window rule needs it) with `X-Twilio-Signature` as Twilio does, and
`wait_for_replies` long-polls the Twilio sandbox for what the bot sent to that number.

Terminal part: `python -m rasa_project.devtools.whatsapp_simulator [--from +5215512345678] [--name "Ana López"]
[--webhook URL] [--sandbox URL]` is a REPL; type as the client, replies print as they reach the sandbox.
Commands: `/foto <url> [texto]`, `/voz <lo que dices>` (a voice note: its audio is registered in the
Twilio sandbox and "says" the text to the transcription stand-in), `/ubicacion <lat> <lon>`,
`/boton <payload> [texto]`, `/tap <n>`, `/salir`; and, as the team in the Chatwoot stand-in (`--chatwoot`),
`/agente <texto>` (an agent's reply in this client's conversation) and `/resolver` (the agent resolves it).
Buttons show as WhatsApp draws them: quick replies as `[ Sí, confirmar ] [ No ]`, a list picker as its
button and numbered items; while the last message's buttons are on screen, typing their number or a
title (or `/tap <n>`) taps it: the form carries `ButtonPayload` (the button's id) and `ButtonText`,
as Twilio posts a WhatsApp tap. `as_numbered_text` gives a Content reply as the numbered text the
channel sends without buttons (test helpers compare bodies with it).
Without a TTY it reads stdin lines and, at EOF, waits briefly for pending replies before exiting.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import mimetypes
import re
import sys
import threading
import uuid
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import httpx
from twilio.request_validator import RequestValidator

from rasa_project.phones import normalize_e164, whatsapp_address
from rasa_project.sandboxes.transcription import fake_voice_note
from rasa_project.settings import get_settings

API_VERSION = "2010-04-01"
POLL_WAIT_SECONDS = 10.0
HELP = ("Comandos: /foto <url> [texto] · /voz <lo que dices> · /ubicacion <lat> <lon> · /boton <payload> [texto]"
        " · /tap <n> · /agente <texto> · /resolver · /salir")
Choice = Tuple[str, str]  # a button on screen: (title shown, id Twilio posts as ButtonPayload)


class RepliesTimeout(TimeoutError):
    """Fewer replies than expected arrived in time; `replies` holds those that did."""

    def __init__(self, message: str, replies: List[dict]) -> None:
        super().__init__(message)
        self.replies = replies


def _message_type(media: Sequence[Tuple[str, str]], location: Any, button: Any) -> str:
    if button is not None:
        return "button"
    if location is not None:
        return "location"
    if media:
        kind = media[0][1].split("/", 1)[0]
        return kind if kind in ("image", "video", "audio") else "document"
    return "text"


def build_inbound_form(
    from_number: str,
    body: str | None = None,
    *,
    message_sid: str | None = None,
    profile_name: str = "Cliente",
    to: str | None = None,
    media: Sequence[Tuple[str, str]] = (),
    location: Tuple[float, float] | None = None,
    button: Tuple[str, str] | None = None,
    account_sid: str | None = None,
    sms: bool = False,
) -> Dict[str, str]:
    """The form Twilio posts for one inbound WhatsApp message (`sms`: an SMS to our SMS number, same webhook).

    `to` defaults to the `twilio_whatsapp_number` setting and `account_sid` to `twilio_account_sid`;
    `media` is `(url, content_type)` pairs; `button` is `(payload, text)` and its text is the Body.
    """
    settings = get_settings()
    if sms:
        return sms_inbound_form(from_number, body or "", message_sid=message_sid, to=to, account_sid=account_sid)
    sender = whatsapp_address(from_number)
    sid = message_sid or "SM" + uuid.uuid4().hex
    if button is not None and body is None:
        body = button[1]
    form = {
        "SmsMessageSid": sid,
        "NumMedia": str(len(media)),
        "ProfileName": profile_name,
        "MessageType": _message_type(media, location, button),
        "SmsSid": sid,
        "WaId": sender.removeprefix("whatsapp:+"),
        "SmsStatus": "received",
        "Body": body or "",
        "To": whatsapp_address(to or settings.twilio_sender),
        "NumSegments": "1",
        "ReferralNumMedia": "0",
        "MessageSid": sid,
        "AccountSid": account_sid or settings.twilio_account_sid,
        "From": sender,
        "ApiVersion": API_VERSION,
    }
    for i, (url, content_type) in enumerate(media):
        form[f"MediaContentType{i}"] = content_type
        form[f"MediaUrl{i}"] = url
    if location is not None:
        form["Latitude"], form["Longitude"] = (repr(float(value)) for value in location)
    if button is not None:
        form["ButtonPayload"], form["ButtonText"] = button
    return form


def sms_inbound_form(from_number: str, body: str, *, message_sid: str | None = None, to: str | None = None,
                     account_sid: str | None = None) -> Dict[str, str]:
    """The form Twilio posts for an inbound SMS: bare E.164 numbers, no ProfileName/WaId/ButtonPayload."""
    settings = get_settings()
    sid = message_sid or "SM" + uuid.uuid4().hex
    number = normalize_e164(from_number)
    return {
        "ToCountry": "US", "SmsMessageSid": sid, "NumMedia": "0", "SmsSid": sid, "SmsStatus": "received",
        "Body": body, "FromCountry": "MX", "To": normalize_e164(to or settings.twilio_sms_number),
        "NumSegments": "1", "MessageSid": sid, "AccountSid": account_sid or settings.twilio_account_sid,
        "From": number, "ApiVersion": API_VERSION,
    }


async def voice_note_form(client: httpx.AsyncClient, sandbox_url: str, sender: str, said: str,
                          profile_name: str = "Cliente") -> Dict[str, str]:
    """A voice note that says `said`: its audio registered in the Twilio sandbox, the form Twilio would post."""
    payload = {"content_type": "audio/ogg", "data": base64.b64encode(fake_voice_note(said)).decode()}
    created = (await client.post(f"{sandbox_url.rstrip('/')}/_sandbox/media", json=payload)).raise_for_status()
    return build_inbound_form(sender, None, profile_name=profile_name, media=[(created.json()["url"], "audio/ogg")])


def sign(url: str, form: Mapping[str, str], auth_token: str) -> str:
    """The `X-Twilio-Signature` Twilio computes for a POST of `form` to `url`."""
    return RequestValidator(auth_token).compute_signature(url, dict(form))


async def post_inbound(
    webhook_url: str,
    form: Mapping[str, str],
    auth_token: str,
    *,
    signed_url: str | None = None,
    client: httpx.AsyncClient | None = None,
    sandbox_url: str | None = None,
) -> httpx.Response:
    """POST `form` to the webhook as Twilio does, signed for `signed_url` (the public URL) or the webhook.

    With `sandbox_url`, a WhatsApp message is first reported to the Twilio sandbox (`POST /_sandbox/inbound`),
    as Twilio itself sees every inbound message: the sandbox's 24-hour window rule then treats the client
    as the real Twilio would."""
    if sandbox_url and str(form.get("From", "")).startswith("whatsapp:"):
        await report_inbound(sandbox_url, form["From"], client)
    headers = {
        "X-Twilio-Signature": sign(signed_url or webhook_url, form, auth_token),
        "User-Agent": "TwilioProxy/1.1",
        "I-Twilio-Idempotency-Token": str(uuid.uuid4()),
        "Accept": "*/*",
    }
    if client is not None:
        return await client.post(webhook_url, data=dict(form), headers=headers)
    async with httpx.AsyncClient(timeout=20.0) as own_client:
        return await own_client.post(webhook_url, data=dict(form), headers=headers)


async def report_inbound(sandbox_url: str, address: str, client: httpx.AsyncClient | None = None) -> None:
    """Tell the Twilio sandbox that `address` ("whatsapp:+52...") just wrote: its window opens."""
    url = f"{sandbox_url.rstrip('/')}/_sandbox/inbound"
    if client is not None:
        (await client.post(url, json={"from": address})).raise_for_status()
        return
    async with httpx.AsyncClient(timeout=20.0) as own_client:
        (await own_client.post(url, json={"from": address})).raise_for_status()


async def poll_replies(
    client: httpx.AsyncClient, sandbox_url: str, to: str | None, after: int, wait: float
) -> Tuple[List[dict], int]:
    """One long-poll of the sandbox: messages with index > `after` (to `to`) and the index to pass next."""
    params: Dict[str, Any] = {"after": after, "wait": wait, **({"to": to} if to else {})}
    response = await client.get(f"{sandbox_url.rstrip('/')}/_sandbox/messages", params=params,
                                timeout=wait + 10.0)
    payload = response.raise_for_status().json()
    return payload["messages"], int(payload["last_index"])


async def wait_for_replies(
    sandbox_url: str, to: str, after: int, *, min_count: int = 1, timeout: float = 30
) -> List[dict]:
    """Every message the sandbox accepted for `to` after index `after`, once at least `min_count` arrived.

    Raises `RepliesTimeout` (a `TimeoutError`, with the partial list) when `timeout` passes first.
    """
    recipient, start = whatsapp_address(to), after
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    replies: List[dict] = []
    async with httpx.AsyncClient() as client:
        while len(replies) < min_count:
            remaining = deadline - loop.time()
            if remaining <= 0:
                bodies = [reply.get("body") for reply in replies]
                raise RepliesTimeout(f"{len(replies)} of {min_count} replies to {recipient} within "
                                     f"{timeout}s after index {start}: {bodies}", replies)
            found, after = await poll_replies(client, sandbox_url, recipient, after, min(remaining, 10.0))
            replies.extend(found)
    return replies


def reply_choices(reply: Mapping[str, Any]) -> List[Choice]:
    """The buttons of a sandbox message record: quick-reply actions or list-picker items, in order."""
    if reply.get("actions"):
        return [(str(a["title"]), str(a.get("id") or a["title"])) for a in reply["actions"]]
    return [(str(i["item"]), str(i["id"])) for i in reply.get("items") or []]


def as_numbered_text(reply: Mapping[str, Any]) -> str:
    """A reply's body, with its buttons (if any) as the "1. Título" lines of the channel's numbered text."""
    body, choices = str(reply.get("body") or ""), reply_choices(reply)
    if not choices:
        return body
    lines = "\n".join(f"{n}. {title}" for n, (title, _) in enumerate(choices, start=1))
    return f"{body.rstrip()}\n\n{lines}" if body.strip() else lines


def render_reply(reply: Mapping[str, Any]) -> List[str]:
    """The lines the terminal shows for one reply: text, media, buttons as buttons, templates."""
    lines = [str(reply["body"])] if reply.get("body") else []
    lines += [f"[media] {url}" for url in reply.get("media_urls", [])]
    if reply.get("actions"):
        lines.append(" ".join(f"[ {title} ]" for title, _ in reply_choices(reply)))
    elif reply.get("items"):
        lines.append(f"☰ {reply.get('button') or 'Opciones'}")
        lines += [f"  {n}. {item['item']}" + (f" — {item['description']}" if item.get("description") else "")
                  for n, item in enumerate(reply["items"], start=1)]
    elif reply.get("content_sid") and not reply.get("content_type"):
        lines.append(f"[plantilla {reply['content_sid']}] {reply.get('content_variables') or ''}")
    return lines


def _tapped(line: str, choices: Sequence[Choice]) -> Choice | None:
    """The button a typed line taps: `/tap N`, a bare number, or a title (case and accents as shown)."""
    text = line.strip()
    if text.startswith("/tap"):
        text = text[len("/tap"):].strip()
    if text.isdigit() and 1 <= int(text) <= len(choices):
        return choices[int(text) - 1]
    return next((c for c in choices if c[0].casefold() == text.casefold()), None)


async def chatwoot_conversation_id(client: httpx.AsyncClient, chatwoot_url: str, phone: str) -> int:
    """The latest conversation of `phone` in the Chatwoot stand-in (LookupError when it has none yet)."""
    number = whatsapp_address(phone).removeprefix("whatsapp:")
    state = (await client.get(f"{chatwoot_url.rstrip('/')}/_sandbox/state")).raise_for_status().json()
    found = [c["id"] for c in state["conversations"] if (c["meta"]["sender"] or {}).get("phone_number") == number]
    if not found:
        raise LookupError(f"no Chatwoot conversation for {number} yet")
    return max(found)


async def agent_reply(client: httpx.AsyncClient, chatwoot_url: str, phone: str, text: str,
                      agent_name: str = "Agente") -> Dict[str, Any]:
    """An agent of the team answers `phone` in the Chatwoot stand-in (its webhook reaches our route)."""
    conversation = await chatwoot_conversation_id(client, chatwoot_url, phone)
    response = await client.post(f"{chatwoot_url.rstrip('/')}/_sandbox/agent_reply", json={
        "conversation_id": conversation, "content": text, "agent_name": agent_name})
    return response.raise_for_status().json()


async def resolve_conversation(client: httpx.AsyncClient, chatwoot_url: str, phone: str,
                               agent_name: str = "Agente") -> Dict[str, Any]:
    """The agent resolves `phone`'s conversation in the Chatwoot stand-in: the bot takes over again."""
    conversation = await chatwoot_conversation_id(client, chatwoot_url, phone)
    response = await client.post(f"{chatwoot_url.rstrip('/')}/_sandbox/resolve", json={
        "conversation_id": conversation, "agent_name": agent_name})
    return response.raise_for_status().json()


async def _team_command(client: httpx.AsyncClient, chatwoot_url: str, sender: str, line: str) -> None:
    """`/agente <texto>` and `/resolver`: be the team in Chatwoot; the result shows as the bot's replies do."""
    command, _, text = line.partition(" ")
    try:
        if command == "/agente" and text.strip():
            await agent_reply(client, chatwoot_url, sender, text.strip())
            _warn("el agente respondió en Chatwoot")
        elif command == "/agente":
            print(HELP, flush=True)
        else:
            await resolve_conversation(client, chatwoot_url, sender)
            _warn("conversación resuelta en Chatwoot: el asistente vuelve a responder")
    except LookupError as exc:
        _warn(str(exc))
    except httpx.HTTPError as exc:
        _warn(f"Chatwoot (stand-in) no disponible en {chatwoot_url}: {type(exc).__name__}: {exc}")


def _parse_line(line: str, sender: str, name: str, choices: Sequence[Choice] = ()) -> Dict[str, str] | None:
    """One typed line → an inbound form, or None for a command handled here (help) or a bad one.

    `choices`: the buttons of the last reply; a line that taps one becomes a button form.
    """
    tapped = _tapped(line, choices) if choices else None
    if tapped is not None:
        return build_inbound_form(sender, None, profile_name=name, button=(tapped[1], tapped[0]))
    if not line.startswith("/"):
        return build_inbound_form(sender, line, profile_name=name)
    command, _, rest = line.partition(" ")
    args = rest.split()
    if command == "/foto" and args:
        content_type = mimetypes.guess_type(args[0])[0] or "image/jpeg"
        caption = rest.strip()[len(args[0]):].strip() or None
        return build_inbound_form(sender, caption, profile_name=name, media=[(args[0], content_type)])
    if command == "/ubicacion" and len(args) == 2 and all(re.fullmatch(r"-?\d+(\.\d+)?", a) for a in args):
        return build_inbound_form(sender, None, profile_name=name, location=(float(args[0]), float(args[1])))
    if command == "/boton" and args:
        text = rest.strip()[len(args[0]):].strip() or args[0]
        return build_inbound_form(sender, None, profile_name=name, button=(args[0], text))
    print(HELP, flush=True)
    return None


def _warn(text: str) -> None:
    print(f"[{text}]", file=sys.stderr, flush=True)


def _print_reply(reply: dict) -> None:
    for line in render_reply(reply):
        print(f"bot> {line}", flush=True)


def _stdin_lines(loop: asyncio.AbstractEventLoop) -> asyncio.Queue:
    """Lines from stdin via a daemon thread (None at EOF), so Ctrl-C never waits on a blocked read."""
    queue: asyncio.Queue = asyncio.Queue()

    def hand_over(item: Optional[str]) -> bool:
        """False once the chat has ended (after /salir the loop is closed; the lines left are not read)."""
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
            return True
        except RuntimeError:  # the event loop is closed
            return False

    def reader() -> None:
        for line in sys.stdin:
            if not hand_over(line.rstrip("\r\n")):
                return
        hand_over(None)

    threading.Thread(target=reader, name="stdin-reader", daemon=True).start()
    return queue


async def run_repl(args: argparse.Namespace) -> int:
    settings = get_settings()
    sender = whatsapp_address(args.from_number)
    interactive = sys.stdin.isatty()
    state: Dict[str, Any] = {"sent": False, "replies_since_send": 0, "last_reply": 0.0, "choices": []}
    loop = asyncio.get_running_loop()
    async with httpx.AsyncClient(timeout=20.0) as client:
        _, after = await poll_replies(client, args.sandbox, sender, 0, 0)  # replies from now on only

        async def show_replies(after: int) -> None:
            while True:
                try:
                    found, after = await poll_replies(client, args.sandbox, sender, after, POLL_WAIT_SECONDS)
                except httpx.HTTPError as exc:
                    _warn(f"sandbox no disponible: {type(exc).__name__}: {exc}")
                    await asyncio.sleep(1.0)
                    continue
                for reply in found:
                    _print_reply(reply)
                    state["choices"] = reply_choices(reply)  # WhatsApp: the newest message's buttons
                    state["replies_since_send"] += 1
                    state["last_reply"] = loop.time()

        poller = asyncio.create_task(show_replies(after))
        lines = _stdin_lines(loop)
        print(f"Escribes como {args.name} ({sender}). {HELP}", flush=True)
        try:
            while True:
                if interactive:
                    print("tú> ", end="", flush=True)
                line = await lines.get()
                if line is None or line.strip() == "/salir":
                    break
                if line.strip().split(" ", 1)[0] in ("/agente", "/resolver"):
                    await _team_command(client, args.chatwoot, sender, line.strip())
                    continue
                if line.strip().startswith("/voz "):
                    form: Dict[str, str] | None = await voice_note_form(
                        client, args.sandbox, sender, line.strip()[len("/voz "):].strip(), args.name)
                else:
                    form = _parse_line(line.strip(), sender, args.name, state["choices"]) if line.strip() else None
                if form is None:
                    continue
                state["sent"], state["replies_since_send"] = True, 0
                try:
                    response = await post_inbound(args.webhook, form, settings.twilio_auth_token,
                                                  signed_url=args.signed_url, client=client,
                                                  sandbox_url=args.sandbox)
                except httpx.HTTPError as exc:
                    _warn(f"webhook no disponible: {type(exc).__name__}: {exc}")
                    continue
                if response.status_code >= 300:
                    _warn(f"webhook respondió {response.status_code}: {response.text[:200]}")
            await _drain(loop, state, args.drain_seconds, args.quiet_seconds)
        finally:
            poller.cancel()
            await asyncio.gather(poller, return_exceptions=True)
    return 0


async def _drain(loop: asyncio.AbstractEventLoop, state: Dict[str, Any], limit: float, quiet: float) -> None:
    """Before exiting, wait for the last message's replies: until they go quiet, or `limit` seconds."""
    deadline = loop.time() + limit
    while state["sent"] and loop.time() < deadline:
        if state["replies_since_send"] and loop.time() - state["last_reply"] >= quiet:
            return
        await asyncio.sleep(0.05)


def main(argv: Sequence[str] | None = None) -> int:
    settings = get_settings()
    parser = argparse.ArgumentParser(description="Simulador de WhatsApp en la terminal")
    parser.add_argument("--from", dest="from_number", type=whatsapp_address, default="+5215512345678")
    parser.add_argument("--name", default="Cliente")
    parser.add_argument("--webhook", default=f"http://127.0.0.1:{settings.rasa_port}/webhooks/whatsapp/webhook")
    parser.add_argument("--sandbox", default=f"http://127.0.0.1:{settings.sandbox_twilio_port}")
    parser.add_argument("--chatwoot", default=f"http://127.0.0.1:{settings.sandbox_chatwoot_port}",
                        help="the Chatwoot stand-in, for /agente and /resolver")
    parser.add_argument("--signed-url", default=settings.webhook_public_url or None,
                        help="URL to sign for (public webhook URL); default: webhook_public_url or --webhook")
    parser.add_argument("--drain-seconds", type=float, default=5.0, help="at EOF, max wait for replies")
    parser.add_argument("--quiet-seconds", type=float, default=1.0, help="at EOF, stop once replies go quiet")
    args = parser.parse_args(argv)
    try:
        return asyncio.run(run_repl(args))
    except KeyboardInterrupt:
        return 130
    except httpx.HTTPError as exc:  # only the first poll gets here: the sandbox is not running
        _warn(f"sin sandbox de Twilio en {args.sandbox}: {type(exc).__name__}: {exc}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
