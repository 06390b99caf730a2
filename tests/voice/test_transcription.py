"""Contract tests of the transcription client against the speech-to-text stand-in and the Twilio sandbox.

Both run over real HTTP on free loopback ports; the client is the real `Transcriber` (httpx + openai).
The fixtures here are also used by test_voice_seam.py.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import sys
import time
from dataclasses import dataclass
from typing import Any, AsyncIterator, Callable, Dict, List

import httpx
import pytest
from aiohttp import web
from prometheus_client import REGISTRY

from rasa_project.devtools.local_stack import free_port
from rasa_project.sandboxes.transcription import DEFAULT_TRANSCRIPT, create_app, fake_voice_note
from rasa_project.sandboxes.twilio_api import create_app as create_twilio_app
from rasa_project.settings import PROJECT_ROOT, Settings
from rasa_project.transcription import (
    DOWNLOAD_FAILED,
    EMPTY,
    HTTP_ERROR,
    TIMEOUT,
    TOO_LARGE,
    Transcriber,
    TranscriptionFailed,
    audio_file_name,
)

ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "voice-test-auth-token"
API_KEY = "sk-voice-sandbox-test"


async def _serve(app: web.Application) -> tuple:
    runner = web.AppRunner(app, shutdown_timeout=2.0)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}"


@dataclass
class SpeechSandbox:
    """The transcription stand-in and its `/_sandbox/` controls."""

    base_url: str
    http: httpx.AsyncClient

    async def faults(self, *outcomes: Dict[str, Any]) -> None:
        (await self.http.post(f"{self.base_url}/_sandbox/faults", json={"outcomes": list(outcomes)})).raise_for_status()

    async def requests(self) -> List[Dict[str, Any]]:
        return (await self.http.get(f"{self.base_url}/_sandbox/requests")).json()["requests"]


@dataclass
class TwilioMedia:
    """The Twilio sandbox, used for its inbound media."""

    base_url: str
    http: httpx.AsyncClient

    async def register(self, data: bytes, content_type: str = "audio/ogg", **options: Any) -> str:
        payload = {"content_type": content_type, "data": base64.b64encode(data).decode(), **options}
        response = await self.http.post(f"{self.base_url}/_sandbox/media", json=payload)
        response.raise_for_status()
        return response.json()["url"]

    async def requests(self) -> List[Dict[str, Any]]:
        return (await self.http.get(f"{self.base_url}/_sandbox/media")).json()["requests"]


@pytest.fixture
async def speech() -> AsyncIterator[SpeechSandbox]:
    runner, base_url = await _serve(create_app(api_key=API_KEY))
    async with httpx.AsyncClient(timeout=10.0) as http:
        yield SpeechSandbox(base_url, http)
    await runner.cleanup()


@pytest.fixture
async def twilio() -> AsyncIterator[TwilioMedia]:
    runner, base_url = await _serve(create_twilio_app(ACCOUNT_SID, AUTH_TOKEN))
    async with httpx.AsyncClient(timeout=10.0) as http:
        yield TwilioMedia(base_url, http)
    await runner.cleanup()


@pytest.fixture
async def make_transcriber(speech: SpeechSandbox, twilio: TwilioMedia) -> AsyncIterator[Callable[..., Transcriber]]:
    """Transcribers pointed at both sandboxes (settings overrides as keyword arguments), closed afterwards."""
    made: List[Transcriber] = []

    def make(**overrides: Any) -> Transcriber:
        values: Dict[str, Any] = dict(
            transcription_api_url=f"{speech.base_url}/v1",
            transcription_api_key=API_KEY,
            transcription_timeout_seconds=5.0,
            twilio_api_base_url=twilio.base_url,
            twilio_account_sid=ACCOUNT_SID,
            twilio_auth_token=AUTH_TOKEN,
        )
        values.update(overrides)
        transcriber = Transcriber.from_settings(dataclasses.replace(Settings(), **values))
        assert transcriber is not None
        made.append(transcriber)
        return transcriber

    yield make
    for transcriber in made:
        await transcriber.aclose()


def latency_count() -> float:
    return REGISTRY.get_sample_value("whatsapp_voice_note_transcription_seconds_count") or 0.0


async def failure_of(transcriber: Transcriber, url: str, content_type: str = "audio/ogg") -> TranscriptionFailed:
    with pytest.raises(TranscriptionFailed) as caught:
        await transcriber.transcribe_media(url, content_type)
    return caught.value


async def test_voice_note_is_transcribed_in_spanish(make_transcriber, speech, twilio) -> None:
    url = await twilio.register(fake_voice_note("Quiero reservar yoga el jueves a las seis"))
    before = latency_count()

    transcript = await make_transcriber().transcribe_media(url, "audio/ogg")

    assert transcript.text == "Quiero reservar yoga el jueves a las seis"
    assert transcript.model == "whisper-1" and transcript.seconds > 0
    assert latency_count() == before + 1
    [received] = await speech.requests()
    assert received["path"] == "/v1/audio/transcriptions"
    assert received["headers"]["authorization"] == f"Bearer {API_KEY}"
    assert received["fields"] == {"model": "whisper-1", "language": "es", "prompt": "", "response_format": "json"}
    assert received["file"] == {"filename": "voice-note.ogg", "content_type": "audio/ogg",
                                "size": len(fake_voice_note("Quiero reservar yoga el jueves a las seis"))}


async def test_redirect_is_followed_without_the_credentials(make_transcriber, twilio) -> None:
    url = await twilio.register(fake_voice_note("hola"))

    await make_transcriber().transcribe_media(url, "audio/ogg")

    media, storage = await twilio.requests()
    assert (media["kind"], media["status"], storage["kind"], storage["status"]) == ("media", 307, "storage", 200)
    expected = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    assert media["headers"]["authorization"] == expected
    assert "authorization" not in storage["headers"]
    assert storage["path"].startswith("/_sandbox/storage/")


async def test_audio_without_a_marker_gets_the_default_sentence(make_transcriber, twilio) -> None:
    url = await twilio.register(b"OggS" + bytes(range(200)), content_type="audio/ogg; codecs=opus")
    assert (await make_transcriber().transcribe_media(url, "audio/ogg; codecs=opus")).text == DEFAULT_TRANSCRIPT


async def test_wrong_twilio_credentials_are_a_download_failure(make_transcriber, speech, twilio) -> None:
    url = await twilio.register(fake_voice_note("hola"))

    failure = await failure_of(make_transcriber(twilio_auth_token="not-the-token"), url)

    assert failure.reason == DOWNLOAD_FAILED and "401" in failure.detail
    assert [r["status"] for r in await twilio.requests()] == [401]  # never reached the storage
    assert await speech.requests() == []


@pytest.mark.parametrize("tamper", ["other_host", "ftp", "garbage"])
async def test_media_url_off_the_twilio_host_is_never_fetched(make_transcriber, speech, twilio, tamper) -> None:
    url = await twilio.register(fake_voice_note("hola"))
    path = url[len(twilio.base_url):]
    bad = {"other_host": speech.base_url + path, "ftp": "ftp://127.0.0.1" + path, "garbage": "http://[::1"}[tamper]

    assert (await failure_of(make_transcriber(), bad)).reason == DOWNLOAD_FAILED
    assert await twilio.requests() == [] and await speech.requests() == []


async def test_unknown_media_and_expired_storage_are_download_failures(make_transcriber, twilio) -> None:
    url = await twilio.register(fake_voice_note("hola"), ttl_seconds=0)
    transcriber = make_transcriber()

    assert (await failure_of(transcriber, url)).reason == DOWNLOAD_FAILED  # storage answered 403
    assert (await failure_of(transcriber, url.rsplit("/", 1)[0] + "/ME" + "0" * 32)).reason == DOWNLOAD_FAILED
    assert [r["status"] for r in await twilio.requests()] == [307, 403, 404]


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_too_large_voice_note_is_refused(make_transcriber, speech, twilio, chunked: bool) -> None:
    url = await twilio.register(fake_voice_note("x" * 200_000), chunked=chunked)

    failure = await failure_of(make_transcriber(voice_note_max_bytes=100_000), url)

    assert failure.reason == TOO_LARGE
    assert await speech.requests() == []


async def test_voice_note_at_the_cap_is_accepted(make_transcriber, twilio) -> None:
    audio = fake_voice_note("justo")
    url = await twilio.register(audio, chunked=True)
    assert (await make_transcriber(voice_note_max_bytes=len(audio)).transcribe_media(url, "audio/ogg")).text == "justo"


async def test_slow_transcription_times_out_within_the_budget(make_transcriber, speech, twilio) -> None:
    url = await twilio.register(fake_voice_note("hola"))
    await speech.faults({"delay_ms": 3000})

    started = time.monotonic()
    failure = await failure_of(make_transcriber(transcription_timeout_seconds=0.5), url)

    assert failure.reason == TIMEOUT
    assert time.monotonic() - started < 1.5


async def test_slow_download_times_out_within_the_budget(make_transcriber, speech, twilio) -> None:
    url = await twilio.register(fake_voice_note("hola"), delay_ms=3000)

    started = time.monotonic()
    failure = await failure_of(make_transcriber(transcription_timeout_seconds=0.5), url)

    assert failure.reason == TIMEOUT
    assert time.monotonic() - started < 1.5
    assert await speech.requests() == []


@pytest.mark.parametrize("overrides, fault", [
    ({}, {"status": 500}),
    ({}, {"status": 429}),
    ({"transcription_api_key": "sk-wrong"}, None),
])
async def test_transcription_api_errors_are_http_errors(make_transcriber, speech, twilio, overrides, fault) -> None:
    url = await twilio.register(fake_voice_note("hola"))
    if fault:
        await speech.faults(fault)

    failure = await failure_of(make_transcriber(**overrides), url)

    assert failure.reason == HTTP_ERROR
    assert len(await speech.requests()) == 1  # no hidden retries


async def test_transcription_server_down_is_an_http_error(make_transcriber, twilio) -> None:
    url = await twilio.register(fake_voice_note("hola"))
    transcriber = make_transcriber(transcription_api_url=f"http://127.0.0.1:{free_port()}/v1")
    assert (await failure_of(transcriber, url)).reason == HTTP_ERROR


@pytest.mark.parametrize("said", ["", "   \n  "])
async def test_empty_transcript(make_transcriber, twilio, said: str) -> None:
    url = await twilio.register(fake_voice_note(said))
    assert (await failure_of(make_transcriber(), url)).reason == EMPTY


def test_no_url_means_no_transcriber() -> None:
    assert Transcriber.from_settings(Settings()) is None
    assert Transcriber.from_settings(Settings(transcription_api_url="  ")) is None


def test_settings_read_from_environment() -> None:
    settings = Settings.from_env({"TRANSCRIPTION_API_URL": "http://127.0.0.1:8084/v1", "VOICE_NOTE_MAX_BYTES": "2048",
                                  "TRANSCRIPTION_TIMEOUT_SECONDS": "7.5"})
    assert settings.transcription_api_url == "http://127.0.0.1:8084/v1" and settings.voice_note_max_bytes == 2048
    assert settings.transcription_timeout_seconds == 7.5 and settings.transcription_model == "whisper-1"


@pytest.mark.parametrize("content_type, expected", [
    ("audio/ogg", ("voice-note.ogg", "audio/ogg")),
    ("audio/ogg; codecs=opus", ("voice-note.ogg", "audio/ogg")),
    ("AUDIO/MPEG", ("voice-note.mp3", "audio/mpeg")),
    ("audio/mp4", ("voice-note.m4a", "audio/mp4")),
    ("audio/x-weird", ("voice-note.xweird", "audio/x-weird")),
    ("", ("voice-note.ogg", "audio/ogg")),
])
def test_audio_file_name(content_type: str, expected: tuple) -> None:
    assert audio_file_name(content_type) == expected


def test_unknown_failure_reason_is_a_bug() -> None:
    with pytest.raises(ValueError):
        TranscriptionFailed("exploded", "no such reason")


async def test_module_entry_point_serves_with_its_key() -> None:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "rasa_project.sandboxes.transcription", "--port", str(port), "--api-key", API_KEY,
        cwd=str(PROJECT_ROOT), stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/v1/audio/transcriptions"
    files = {"file": ("nota.ogg", fake_voice_note("desde la terminal"), "audio/ogg")}
    try:
        async with httpx.AsyncClient() as http:
            for _ in range(100):
                try:
                    await http.get(f"http://127.0.0.1:{port}/_sandbox/requests")
                    break
                except httpx.ConnectError:
                    await asyncio.sleep(0.1)
            else:
                raise AssertionError("the transcription sandbox did not start")
            wrong = await http.post(url, files=files, data={"model": "whisper-1"},
                                    headers={"Authorization": "Bearer x"})
            right = await http.post(url, files=files, data={"model": "whisper-1", "response_format": "text"},
                                    headers={"Authorization": f"Bearer {API_KEY}"})
        assert wrong.status_code == 401 and wrong.json()["error"]["type"] == "authentication_error"
        assert right.status_code == 200 and right.text == "desde la terminal\n"
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), timeout=10)


@pytest.mark.parametrize("data, file_name, message", [
    ({}, "nota.ogg", "model"),
    ({"model": "whisper-1"}, "nota.amr", "Invalid file format"),
    ({"model": "whisper-1", "language": "spanish"}, "nota.ogg", "ISO-639-1"),
    ({"model": "whisper-1", "response_format": "srt"}, "nota.ogg", "response_format"),
])
async def test_stand_in_rejects_what_the_real_api_rejects(speech, data, file_name, message) -> None:
    response = await speech.http.post(
        f"{speech.base_url}/v1/audio/transcriptions", data=data,
        files={"file": (file_name, fake_voice_note("hola"), "audio/ogg")},
        headers={"Authorization": f"Bearer {API_KEY}"},
    )
    assert response.status_code == 400 and message in response.json()["error"]["message"]


async def test_stand_in_without_a_file_and_verbose_json(speech) -> None:
    url = f"{speech.base_url}/v1/audio/transcriptions"
    headers = {"Authorization": f"Bearer {API_KEY}"}
    missing = await speech.http.post(url, data={"model": "whisper-1"}, headers=headers)
    verbose = await speech.http.post(url, data={"model": "whisper-1", "response_format": "verbose_json"},
                                     files={"file": ("n.ogg", fake_voice_note("hola"), "audio/ogg")}, headers=headers)
    assert missing.status_code == 400 and "file" in missing.json()["error"]["message"]
    assert verbose.json()["text"] == "hola" and verbose.json()["duration"] > 0
    assert (await speech.http.post(f"{speech.base_url}/_sandbox/faults", json={"outcomes": [{}]})).status_code == 400
    assert (await speech.http.post(f"{speech.base_url}/_sandbox/reset")).json() == {"reset": True}
    assert await speech.requests() == []
