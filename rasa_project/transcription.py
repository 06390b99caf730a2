"""The one transcription client: a WhatsApp voice note from Twilio's media URL to Spanish text.

Two hops, one budget (`transcription_timeout_seconds` bounds download + transcription, since the
client is waiting for the reply):

1. Download with httpx. Twilio's media URL needs Basic auth (account SID + auth token) and answers 307
   to a short-lived storage URL. Redirects are followed by hand: httpx keeps `Authorization` on a
   same-origin redirect, and the credentials must reach the Twilio API host only, never the storage.
   A media URL on any other host is refused (no credentials, no request), so a forged webhook cannot
   make us fetch internal addresses. The body is capped at `voice_note_max_bytes`, read in memory and
   never stored.
2. Transcription through the official `openai` package against any OpenAI-compatible server
   (`POST {transcription_api_url}/audio/transcriptions`, `language=es`, `response_format=json`).

Every failure is a `TranscriptionFailed` with one of a small closed set of reasons, so the channel
can count it and fall back to its polite "text only" reply.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Tuple

import httpx
import openai

from rasa_project.metrics import TRANSCRIPTION_LATENCY
from rasa_project.settings import Settings

logger = logging.getLogger(__name__)

DOWNLOAD_FAILED = "download_failed"
TOO_LARGE = "too_large"
TIMEOUT = "timeout"
HTTP_ERROR = "http_error"
EMPTY = "empty"
REASONS = (DOWNLOAD_FAILED, TOO_LARGE, TIMEOUT, HTTP_ERROR, EMPTY)

LANGUAGE = "es"
MAX_REDIRECTS = 3  # Twilio redirects once; more is a loop or a misconfiguration
NO_KEY_PLACEHOLDER = "no-key"  # openai refuses an empty key; keyless local servers ignore the header

# The API picks the decoder from the file name's extension, so each content type gets its own.
_EXTENSIONS = {
    "audio/ogg": "ogg",
    "audio/opus": "ogg",
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
    "audio/mp4": "m4a",
    "audio/m4a": "m4a",
    "audio/x-m4a": "m4a",
    "audio/aac": "m4a",
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/webm": "webm",
    "audio/flac": "flac",
    "audio/amr": "amr",
}

Origin = Tuple[str, str, int]


class TranscriptionFailed(Exception):
    """A voice note could not become text; `reason` is one of `REASONS` (a metric label)."""

    def __init__(self, reason: str, detail: str) -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown transcription failure reason {reason!r}")
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Transcript:
    """What the voice note said; `seconds` is the wall time of download + transcription."""

    text: str
    seconds: float
    model: str


def _origin(url: httpx.URL) -> Origin:
    default_port = 443 if url.scheme == "https" else 80
    return url.scheme, url.host.lower(), url.port or default_port


def audio_file_name(content_type: str) -> Tuple[str, str]:
    """(`voice-note.<ext>`, bare content type) for the upload; parameters like `; codecs=opus` dropped."""
    bare = content_type.split(";", 1)[0].strip().lower() or "audio/ogg"
    subtype = bare.split("/", 1)[-1]
    extension = _EXTENSIONS.get(bare) or "".join(ch for ch in subtype if ch.isalnum())[:8] or "ogg"
    return f"voice-note.{extension}", bare


class Transcriber:
    """Downloads Twilio media and transcribes it; create and close it inside the event loop."""

    def __init__(
        self,
        settings: Settings,
        *,
        client: openai.AsyncOpenAI | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.settings = settings
        self._owns_client, self._owns_http = client is None, http is None
        timeout = settings.transcription_timeout_seconds
        self._client = client or openai.AsyncOpenAI(
            base_url=settings.transcription_api_url,
            api_key=settings.transcription_api_key or NO_KEY_PLACEHOLDER,
            timeout=timeout,
            max_retries=0,  # a retry would not fit the budget; the polite reply is the fallback
        )
        # First access imports openai's resource modules (blocking): pay it at start-up, not in a turn.
        self._transcriptions = self._client.audio.transcriptions
        # No client-level auth and no automatic redirects: `_download` decides per hop.
        self._http = http or httpx.AsyncClient(timeout=timeout, follow_redirects=False)
        self._twilio_origin = _origin(httpx.URL(settings.twilio_api_base_url))
        self._twilio_auth = httpx.BasicAuth(settings.twilio_account_sid, settings.twilio_auth_token)

    @classmethod
    def from_settings(cls, settings: Settings) -> Transcriber | None:
        """The transcriber for this process, or None when `transcription_api_url` is not set."""
        if not settings.transcription_api_url.strip():
            return None
        return cls(settings)

    @property
    def model(self) -> str:
        return self.settings.transcription_model

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()
        if self._owns_client:
            await self._client.close()

    async def transcribe_media(self, media_url: str, content_type: str) -> Transcript:
        """The text of the voice note at `media_url`; raises `TranscriptionFailed`, nothing else."""
        started = time.perf_counter()
        budget = self.settings.transcription_timeout_seconds
        try:
            text = await asyncio.wait_for(self._transcribe(media_url, content_type, started + budget), budget)
        except asyncio.TimeoutError as exc:
            raise TranscriptionFailed(TIMEOUT, f"no transcript within {budget:g}s") from exc
        finally:
            TRANSCRIPTION_LATENCY.observe(time.perf_counter() - started)
        return Transcript(text=text, seconds=round(time.perf_counter() - started, 3), model=self.model)

    async def _transcribe(self, media_url: str, content_type: str, deadline: float) -> str:
        audio = await self._download(media_url)
        file_name, bare_type = audio_file_name(content_type)
        remaining = max(deadline - time.perf_counter(), 0.001)
        try:
            result = await self._transcriptions.create(
                model=self.model,
                file=(file_name, audio, bare_type),
                language=LANGUAGE,
                response_format="json",
                timeout=remaining,
            )
        except openai.APITimeoutError as exc:
            raise TranscriptionFailed(TIMEOUT, "transcription API timed out") from exc
        except openai.APIStatusError as exc:
            raise TranscriptionFailed(HTTP_ERROR, f"transcription API answered HTTP {exc.status_code}") from exc
        except openai.APIError as exc:  # connection errors, a body that is not a transcription
            raise TranscriptionFailed(HTTP_ERROR, f"{type(exc).__name__}: {exc}") from exc
        text = (getattr(result, "text", None) or "").strip()
        if not text:
            raise TranscriptionFailed(EMPTY, "the transcription API returned no text")
        return text

    async def _download(self, media_url: str) -> bytes:
        """The media bytes; credentials on the first hop only, and only to the Twilio API host."""
        try:
            url = httpx.URL(media_url)
        except httpx.InvalidURL as exc:
            raise TranscriptionFailed(DOWNLOAD_FAILED, f"invalid media URL: {exc}") from exc
        if url.scheme not in ("http", "https") or _origin(url) != self._twilio_origin:
            raise TranscriptionFailed(DOWNLOAD_FAILED, f"media URL is not on the Twilio API host ({url.host})")
        for hop in range(MAX_REDIRECTS + 1):
            auth = self._twilio_auth if hop == 0 else None
            try:
                async with self._http.stream("GET", url, auth=auth) as response:
                    if response.is_redirect:
                        url = url.join(response.headers["location"])
                        if url.scheme not in ("http", "https"):
                            raise TranscriptionFailed(DOWNLOAD_FAILED, f"redirect to a {url.scheme!r} URL")
                        continue
                    return await self._read_capped(response)
            except httpx.TimeoutException as exc:
                raise TranscriptionFailed(TIMEOUT, f"media download timed out ({type(exc).__name__})") from exc
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                raise TranscriptionFailed(DOWNLOAD_FAILED, f"{type(exc).__name__}: {exc}") from exc
        raise TranscriptionFailed(DOWNLOAD_FAILED, f"more than {MAX_REDIRECTS} redirects")

    async def _read_capped(self, response: httpx.Response) -> bytes:
        if response.status_code != 200:
            raise TranscriptionFailed(DOWNLOAD_FAILED, f"media host answered HTTP {response.status_code}")
        cap = self.settings.voice_note_max_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise TranscriptionFailed(TOO_LARGE, f"{declared} bytes declared, the cap is {cap}")
        chunks, size = [], 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > cap:
                raise TranscriptionFailed(TOO_LARGE, f"more than {cap} bytes")
            chunks.append(chunk)
        if size == 0:
            raise TranscriptionFailed(DOWNLOAD_FAILED, "the media body is empty")
        return b"".join(chunks)
