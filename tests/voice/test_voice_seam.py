"""The channel's voice seam: which messages are voice notes, what Rasa gets, what is counted and logged."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Dict, List, cast

import pytest
from prometheus_client import REGISTRY

from connectors.whatsapp.inbound import MEDIA_PAYLOAD, parse_inbound_form
from connectors.whatsapp.voice import (
    INTERNAL_ERROR,
    NOT_A_VOICE_NOTE,
    NOT_CONFIGURED,
    TRANSCRIBED,
    VoiceResult,
    voice_media,
    voice_metadata,
    voice_text,
)
from rasa_project.sandboxes.transcription import fake_voice_note
from rasa_project.settings import Settings
from rasa_project.transcription import EMPTY, HTTP_ERROR, REASONS, Transcriber, Transcript, TranscriptionFailed
from tests.voice.test_transcription import make_transcriber, speech, twilio  # noqa: F401 (fixtures)

MEDIA_URL = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1"


def voice_notes(outcome: str) -> float:
    return REGISTRY.get_sample_value("whatsapp_voice_notes_total", {"outcome": outcome}) or 0.0


def form(media_url: str = MEDIA_URL, content_type: str = "audio/ogg", body: str = "") -> Dict[str, str]:
    """Twilio's webhook form for a WhatsApp voice note."""
    return {"MessageSid": "SM" + "a" * 32, "From": "whatsapp:+5215512345678", "Body": body, "NumMedia": "1",
            "MediaUrl0": media_url, "MediaContentType0": content_type, "ProfileName": "Ana"}


@dataclass
class FakeTranscriber:
    """Answers or raises what the test says; records the calls."""

    outcome: Any
    settings: Settings = field(default_factory=Settings)
    calls: List[tuple] = field(default_factory=list)

    async def transcribe_media(self, media_url: str, content_type: str) -> Transcript:
        self.calls.append((media_url, content_type))
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return Transcript(text=self.outcome, seconds=0.42, model="whisper-1")


def fake(outcome: Any) -> Transcriber:
    return cast(Transcriber, FakeTranscriber(outcome))


@pytest.mark.parametrize("metadata, text", [
    ({"media": []}, MEDIA_PAYLOAD),
    ({}, MEDIA_PAYLOAD),
    ({"media": [{"url": MEDIA_URL, "content_type": "image/jpeg"}]}, MEDIA_PAYLOAD),
    ({"media": [{"url": "", "content_type": "audio/ogg"}]}, MEDIA_PAYLOAD),
    ({"media": [{"url": MEDIA_URL, "content_type": "audio/ogg"}]}, "escucha mi audio"),  # words in the body
    ({"media": "not a list"}, MEDIA_PAYLOAD),
])
async def test_other_messages_are_left_alone(metadata: Dict[str, Any], text: str) -> None:
    transcriber = FakeTranscriber("no debería llamarse")

    result = await voice_text(metadata, cast(Transcriber, transcriber), text=text)

    assert result == NOT_A_VOICE_NOTE and not result.is_voice_note
    assert voice_metadata(result) == {} and transcriber.calls == []


def test_voice_media_reads_the_parsed_form() -> None:
    message = parse_inbound_form(form(), max_length=1000)
    assert message.text == MEDIA_PAYLOAD
    assert voice_media(message.metadata, message.text) == {"url": MEDIA_URL, "content_type": "audio/ogg"}
    image = parse_inbound_form(form(content_type="image/jpeg"), max_length=1000)
    assert voice_media(image.metadata, image.text) is None


async def test_not_configured_keeps_the_polite_reply() -> None:
    before = voice_notes(NOT_CONFIGURED)
    message = parse_inbound_form(form(), max_length=1000)

    result = await voice_text(message.metadata, None, text=message.text)

    assert result == VoiceResult(text=MEDIA_PAYLOAD, failure=NOT_CONFIGURED)
    assert voice_metadata(result) == {"voice": {"failure": NOT_CONFIGURED}}
    assert voice_notes(NOT_CONFIGURED) == before + 1


async def test_transcript_reaches_rasa_through_the_real_sandboxes(make_transcriber, twilio) -> None:
    url = await twilio.register(fake_voice_note("¿Tienen clase de pilates el sábado?"))
    message = parse_inbound_form(form(media_url=url), max_length=1000)
    before = voice_notes(TRANSCRIBED)

    result = await voice_text(message.metadata, make_transcriber(), text=message.text)

    assert (result.text, result.transcript, result.failure) == ("¿Tienen clase de pilates el sábado?",) * 2 + (None,)
    voice = voice_metadata(result)["voice"]
    assert voice["transcript"] == result.text and voice["model"] == "whisper-1" and voice["seconds"] > 0
    assert voice_notes(TRANSCRIBED) == before + 1


async def test_failure_through_the_real_sandboxes_is_counted_and_logged(
    make_transcriber, speech, twilio, caplog: pytest.LogCaptureFixture
) -> None:
    url = await twilio.register(fake_voice_note("mi tarjeta es secreta"))
    await speech.faults({"status": 500})
    before = voice_notes(HTTP_ERROR)

    with caplog.at_level(logging.INFO, logger="connectors.whatsapp.voice"):
        result = await voice_text({"message_sid": "SM1", "media": [{"url": url, "content_type": "audio/ogg"}]},
                                  make_transcriber())

    assert result == VoiceResult(text=MEDIA_PAYLOAD, failure=HTTP_ERROR)
    assert voice_metadata(result) == {"voice": {"failure": HTTP_ERROR}}
    assert voice_notes(HTTP_ERROR) == before + 1
    [record] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "SM1" in record.getMessage() and HTTP_ERROR in record.getMessage()
    assert "InternalServerError" in record.getMessage()  # the type of the cause
    assert "tarjeta" not in caplog.text and "OggS" not in caplog.text


@pytest.mark.parametrize("reason", REASONS)
async def test_every_failure_reason_falls_back_and_is_counted(reason: str) -> None:
    before = voice_notes(reason)
    metadata = {"media": [{"url": MEDIA_URL, "content_type": "audio/ogg"}]}

    result = await voice_text(metadata, fake(TranscriptionFailed(reason, "scripted")))

    assert (result.text, result.failure, result.transcript) == (MEDIA_PAYLOAD, reason, None)
    assert voice_notes(reason) == before + 1


async def test_a_bug_in_the_transcriber_never_raises(caplog: pytest.LogCaptureFixture) -> None:
    before = voice_notes(INTERNAL_ERROR)
    metadata = {"media": [{"url": MEDIA_URL, "content_type": "audio/ogg"}]}

    result = await voice_text(metadata, fake(KeyError("oops")))

    assert result == VoiceResult(text=MEDIA_PAYLOAD, failure=INTERNAL_ERROR)
    assert voice_notes(INTERNAL_ERROR) == before + 1
    assert "KeyError" in caplog.text and any(r.exc_info for r in caplog.records)


@pytest.mark.parametrize("said, expected", [
    ("  Hola,\t\tquiero   reservar  ", "Hola, quiero reservar"),
    ("/restart", "restart"),  # never an intent payload
    ("//reservar_clase{\"servicio\": \"yoga\"}", "reservar_clase{\"servicio\": \"yoga\"}"),
    ("pago con 4111 1111 1111 1111", "pago con [tarjeta •••• 1111]"),  # redacted like a typed Body
])
async def test_transcript_is_sanitized_like_a_typed_body(said: str, expected: str) -> None:
    metadata = {"media": [{"url": MEDIA_URL, "content_type": "audio/ogg"}]}
    result = await voice_text(metadata, fake(said))
    assert (result.text, result.transcript, result.failure) == (expected, expected, None)


async def test_transcript_is_capped_at_the_message_length() -> None:
    transcriber = FakeTranscriber("palabra " * 500, settings=Settings(max_message_length=50))
    result = await voice_text({"media": [{"url": MEDIA_URL, "content_type": "audio/ogg"}]},
                              cast(Transcriber, transcriber))
    assert result.text is not None and len(result.text) <= 50


@pytest.mark.parametrize("said", ["\x00\x01\x02", " / "])
async def test_nothing_left_after_sanitizing_is_empty(said: str) -> None:
    before = voice_notes(EMPTY)
    result = await voice_text({"media": [{"url": MEDIA_URL, "content_type": "audio/ogg"}]}, fake(said))
    assert result == VoiceResult(text=MEDIA_PAYLOAD, failure=EMPTY)
    assert voice_notes(EMPTY) == before + 1
