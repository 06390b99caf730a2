"""Voice notes through the channel: the media fetched from the Twilio sandbox with the account's
credentials, transcribed by the stand-in, handed to Rasa as text with the transcript in metadata, and
"🎤 Entendí: «…»" shown first; without a transcriber (or when it fails) Rasa gets `/enviar_media`."""

from __future__ import annotations

import base64
from typing import AsyncIterator, List

import httpx
import pytest
from aiohttp import web
from rasa.core.channels.channel import UserMessage

from connectors.whatsapp.inbound import MEDIA_PAYLOAD
from rasa_project.devtools.local_stack import free_port
from rasa_project.sandboxes.transcription import create_app as create_transcription_app
from rasa_project.sandboxes.transcription import fake_voice_note
from tests.connector.support import ACCOUNT_SID, eventually

A = "+5215544440001"
KEY = "voice-channel-test-key"


@pytest.fixture
async def transcription_url() -> AsyncIterator[str]:
    port = free_port()
    runner = web.AppRunner(create_transcription_app(api_key=KEY))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}/v1"
    await runner.cleanup()


async def voice_note_url(sandbox_url: str, said: str) -> str:
    """Register a fake OGG saying `said` in the Twilio sandbox; its media URL, as Twilio would post it."""
    payload = {"content_type": "audio/ogg", "data": base64.b64encode(fake_voice_note(said)).decode()}
    async with httpx.AsyncClient() as http:
        created = await http.post(f"{sandbox_url}/_sandbox/media", json=payload)
    assert created.status_code == 201, created.text
    return str(created.json()["url"])


async def test_a_voice_note_is_answered_from_its_transcript(start_channel, sandbox, transcription_url):
    heard: List[UserMessage] = []

    async def answer(message: UserMessage) -> None:
        heard.append(message)
        await message.output_channel.send_text_message(message.sender_id, f"eco: {message.text}")

    channel = await start_channel(answer, transcription_api_url=transcription_url, transcription_api_key=KEY)
    url = await voice_note_url(sandbox.url, "quiero reservar yoga el viernes a las 8")
    assert (await channel.send(A, None, media=[(url, "audio/ogg")])).status_code == 200
    replies = await channel.replies(sandbox, A, min_count=2)
    assert [r["body"] for r in replies] == ["🎤 Entendí: «quiero reservar yoga el viernes a las 8»",
                                            "eco: quiero reservar yoga el viernes a las 8"]
    assert heard[0].metadata["voice"]["transcript"] == "quiero reservar yoga el viernes a las 8"
    assert heard[0].metadata["original_text"] == MEDIA_PAYLOAD
    # the audio is never stored by us: only the transcript (as what Rasa received) is in the inbox
    rows = channel.query("SELECT body, bot_text FROM whatsapp_inbox WHERE sender_id = :s", s=A)
    assert rows == [(MEDIA_PAYLOAD, "quiero reservar yoga el viernes a las 8")]
    assert ACCOUNT_SID in url  # fetched with the account's credentials (the sandbox refuses others)


async def test_without_a_transcriber_the_voice_note_gets_the_text_only_reply(start_channel, sandbox):
    channel = await start_channel()
    url = await voice_note_url(sandbox.url, "hola")
    await channel.send(A, None, media=[(url, "audio/ogg")])
    await eventually(lambda: channel.received)
    assert channel.received[0].text == MEDIA_PAYLOAD
    assert channel.received[0].metadata["voice"] == {"failure": "not_configured"}


async def test_a_failed_transcription_falls_back_to_the_polite_reply(start_channel, sandbox, transcription_url):
    async with httpx.AsyncClient() as http:
        faulted = await http.post(f"{transcription_url.removesuffix('/v1')}/_sandbox/faults",
                                  json={"outcomes": [{"status": 500}]})
    assert faulted.status_code == 200, faulted.text
    channel = await start_channel(transcription_api_url=transcription_url, transcription_api_key=KEY)
    url = await voice_note_url(sandbox.url, "hola")
    await channel.send(A, None, media=[(url, "audio/ogg")])
    await eventually(lambda: channel.received)
    assert channel.received[0].text == MEDIA_PAYLOAD
    assert channel.received[0].metadata["voice"] == {"failure": "http_error"}
    replies = await channel.replies(sandbox, A)
    assert [r["body"] for r in replies] == [f"eco: {MEDIA_PAYLOAD}"]  # no "Entendí" without a transcript
