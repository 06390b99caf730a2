"""An OpenAI-compatible speech-to-text server on loopback, standing in for Whisper and its hosts.

`POST /v1/audio/transcriptions` (and `/audio/transcriptions`): multipart with `file`, `model` and the
optional `language`, `prompt`, `response_format` (json | text | verbose_json), a Bearer key, and
OpenAI-shaped answers and errors, so `openai.AsyncOpenAI().audio.transcriptions.create` runs unchanged.
Like the real API it picks the decoder from the file name's extension and rejects unknown ones.

A test decides what a voice note "says": a fake audio file carries its transcript after
`TRANSCRIPT_MARKER` (build one with `fake_voice_note`); any other audio becomes `DEFAULT_TRANSCRIPT`.
Test controls under `/_sandbox/` (no auth): `POST faults` (status and/or delay for the next requests),
`GET requests` (what arrived: headers, fields, file name/type/size), `POST reset`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Deque, Dict, List

from aiohttp import web

from rasa_project.sandboxes.llm_server.app import error_response
from rasa_project.sandboxes.llm_server.state import Fault

TRANSCRIPT_MARKER = b"TRANSCRIPT:"
DEFAULT_TRANSCRIPT = "Hola, quisiera reservar una clase de yoga para mañana en la tarde."
SUPPORTED_EXTENSIONS = ("flac", "m4a", "mp3", "mp4", "mpeg", "mpga", "oga", "ogg", "wav", "webm")
RESPONSE_FORMATS = ("json", "text", "verbose_json")
MAX_FILE_BYTES = 25 * 1024 * 1024  # the OpenAI API's limit
_FORM_OVERHEAD = 64 * 1024


def fake_voice_note(transcript: str) -> bytes:
    """A tiny OGG-looking file that the stand-in transcribes to exactly `transcript`."""
    return b"OggS" + b"\0" * 20 + TRANSCRIPT_MARKER + transcript.encode("utf-8")


def transcript_of(audio: bytes) -> str:
    """What the stand-in hears: the text after the marker, or the default sentence."""
    _, marker, said = audio.partition(TRANSCRIPT_MARKER)
    return said.decode("utf-8", errors="replace").strip() if marker else DEFAULT_TRANSCRIPT


@dataclass
class TranscriptionState:
    api_key: str | None = None
    latency_ms: float = 0.0
    faults: Deque[Fault] = field(default_factory=deque)
    requests: List[Dict[str, Any]] = field(default_factory=list)
    stopping: asyncio.Event | None = None

    def reset(self) -> None:
        self.faults.clear()
        self.requests.clear()

    def authorized(self, header: str) -> bool:
        """A Bearer key: the configured one, or any non-empty one when none is configured."""
        key = header[len("Bearer ") :].strip() if header.startswith("Bearer ") else ""
        return bool(key) and (self.api_key is None or key == self.api_key)

    async def sleep(self, seconds: float) -> None:
        """Wait like a slow model, but stop at once when the server shuts down (tests end quickly)."""
        if seconds <= 0:
            return
        if self.stopping is None:
            await asyncio.sleep(seconds)
            return
        try:
            await asyncio.wait_for(self.stopping.wait(), timeout=seconds)
        except asyncio.TimeoutError:
            pass


STATE_KEY = web.AppKey("transcription_sandbox_state", TranscriptionState)


def _field(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _check(form: Any) -> web.Response | None:
    """The real API's 400s, in its order: file, model, format, language."""
    upload = form.get("file")
    if not isinstance(upload, web.FileField):
        return error_response(400, "you must provide a `file` part (multipart/form-data)")
    if not _field(form, "model"):
        return error_response(400, "you must provide a model parameter")
    extension = (upload.filename or "").rsplit(".", 1)[-1].lower() if "." in (upload.filename or "") else ""
    if extension not in SUPPORTED_EXTENSIONS:
        return error_response(400, f"Invalid file format. Supported formats: {list(SUPPORTED_EXTENSIONS)}")
    response_format = _field(form, "response_format") or "json"
    if response_format not in RESPONSE_FORMATS:
        return error_response(400, f"the sandbox answers response_format in {list(RESPONSE_FORMATS)}")
    language = _field(form, "language")
    if language and not (len(language) == 2 and language.isalpha()):
        return error_response(400, f"Invalid language '{language}'. Language parameter must be ISO-639-1.")
    return None


def _answer(text: str, response_format: str, language: str, size: int) -> web.Response:
    if response_format == "text":
        return web.Response(text=text + "\n", content_type="text/plain")
    if response_format == "verbose_json":
        duration = round(max(size, 1) / 4000, 2)  # about 32 kbit/s, Opus voice quality
        return web.json_response({"task": "transcribe", "language": language or "spanish",
                                  "duration": duration, "text": text, "segments": []})
    return web.json_response({"text": text})


async def transcriptions(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    entry: Dict[str, Any] = {
        "path": request.path,
        "received_at": time.time(),
        "headers": {k.lower(): v for k, v in request.headers.items()},
        "fields": {},
        "file": None,
    }
    state.requests.append(entry)
    if not state.authorized(request.headers.get("Authorization", "")):
        entry["status"] = 401
        return error_response(401, "Incorrect API key provided")
    try:
        form = await request.post()
    except ValueError as exc:  # a malformed multipart body
        entry["status"] = 400
        return error_response(400, f"could not parse the multipart body: {exc}")
    entry["fields"] = {name: _field(form, name) for name in ("model", "language", "prompt", "response_format")}
    upload = form.get("file")
    audio = b""
    if isinstance(upload, web.FileField):
        audio = upload.file.read()
        entry["file"] = {"filename": upload.filename, "content_type": upload.content_type, "size": len(audio)}
    rejected = _check(form)
    if rejected is not None:
        entry["status"] = rejected.status
        return rejected
    fault = state.faults.popleft() if state.faults else None
    await state.sleep((state.latency_ms + (fault.delay_ms if fault else 0.0)) / 1000.0)
    if fault is not None and fault.status is not None:
        entry["status"] = fault.status
        return error_response(fault.status, f"sandbox fault: HTTP {fault.status}")
    text = transcript_of(audio)
    entry["status"], entry["transcript"] = 200, text
    return _answer(text, entry["fields"]["response_format"] or "json", entry["fields"]["language"], len(audio))


def _bad_request(reason: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=json.dumps({"error": reason}), content_type="application/json")


def add_control_routes(app: web.Application, state: TranscriptionState) -> None:
    """`/_sandbox/faults`, `/_sandbox/requests`, `/_sandbox/reset`, as on the LLM stand-in."""

    async def faults(request: web.Request) -> web.Response:
        try:
            payload = await request.json()
        except json.JSONDecodeError as exc:
            raise _bad_request(f"invalid JSON: {exc}") from exc
        outcomes = payload.get("outcomes") if isinstance(payload, dict) else None
        if not isinstance(outcomes, list):
            raise _bad_request('expected {"outcomes": [{"status": 500}, {"delay_ms": 6000}]}')
        try:
            parsed = [Fault.parse(raw) for raw in outcomes]
        except ValueError as exc:
            raise _bad_request(str(exc)) from exc
        state.faults.extend(parsed)
        return web.json_response({"queued_faults": len(state.faults)})

    async def requests(_: web.Request) -> web.Response:
        return web.json_response({"requests": state.requests})

    async def reset(_: web.Request) -> web.Response:
        state.reset()
        return web.json_response({"reset": True})

    app.router.add_post("/_sandbox/faults", faults)
    app.router.add_get("/_sandbox/requests", requests)
    app.router.add_post("/_sandbox/reset", reset)


def create_app(*, api_key: str | None = None, latency_ms: float = 0.0) -> web.Application:
    """The stand-in; only `api_key` is accepted when given; `latency_ms` is added to every transcription."""
    app = web.Application(client_max_size=MAX_FILE_BYTES + _FORM_OVERHEAD)
    # The event binds to the loop on first use (3.10+), so it can be made before the app runs.
    state = TranscriptionState(api_key=api_key, latency_ms=float(latency_ms), stopping=asyncio.Event())
    app[STATE_KEY] = state

    async def on_shutdown(_: web.Application) -> None:
        if state.stopping is not None:
            state.stopping.set()

    app.on_shutdown.append(on_shutdown)  # type: ignore[arg-type]  # aiohttp 3.9's Signal stubs
    app.router.add_post("/audio/transcriptions", transcriptions)
    app.router.add_post("/v1/audio/transcriptions", transcriptions)
    add_control_routes(app, state)
    return app
