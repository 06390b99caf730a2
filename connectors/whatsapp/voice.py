"""Voice notes → the text Rasa answers: the one seam between the inbox worker and the transcriber.

`parse_inbound_form` gives a voice note (audio media, no words in the body) the text `/enviar_media`,
which Rasa answers by rule with the polite "I can only read text" reply. `voice_text` replaces that
text with the transcript when a transcriber is configured and the transcription works; in every other
case it keeps `/enviar_media`, so the client always gets an answer. Outcomes are counted in
VOICE_NOTES; failures are logged with their reason and type, never with the audio or the transcript.

The transcript is sanitized and redacted exactly like a typed `Body` (spoken card numbers are masked)
and loses any leading "/", so a voice note can never be read as an intent payload.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional

from connectors.whatsapp.inbound import MEDIA_PAYLOAD
from connectors.whatsapp.sanitize import sanitize_text
from rasa_project.metrics import VOICE_NOTES
from rasa_project.transcription import EMPTY, Transcriber, TranscriptionFailed

logger = logging.getLogger(__name__)

TRANSCRIBED = "transcribed"
NOT_CONFIGURED = "not_configured"
INTERNAL_ERROR = "internal_error"  # a bug of ours; logged with its traceback
_not_configured_logged = False


@dataclass(frozen=True)
class VoiceResult:
    """What to hand Rasa for one message.

    `text` is None when the message is not a voice note (keep its own text); otherwise it is the
    transcript, or `/enviar_media` with the `failure` reason when there is none.
    """

    text: Optional[str]
    transcript: Optional[str] = None
    failure: Optional[str] = None
    seconds: Optional[float] = None
    model: Optional[str] = None

    @property
    def is_voice_note(self) -> bool:
        return self.text is not None


NOT_A_VOICE_NOTE = VoiceResult(text=None)


def voice_media(metadata: Mapping[str, Any], text: str = MEDIA_PAYLOAD) -> Optional[Dict[str, str]]:
    """The first media item when the message is a voice note (audio, no words in the body), else None."""
    if text != MEDIA_PAYLOAD:  # the body had words (or it is a button or location): answer those
        return None
    media = metadata.get("media") or []
    first = media[0] if isinstance(media, list) and media else None
    if not isinstance(first, Mapping):
        return None
    url, content_type = str(first.get("url") or ""), str(first.get("content_type") or "").lower()
    return {"url": url, "content_type": content_type} if url and content_type.startswith("audio/") else None


def _failed(reason: str) -> VoiceResult:
    VOICE_NOTES.labels(outcome=reason).inc()
    return VoiceResult(text=MEDIA_PAYLOAD, failure=reason)


def _clean(transcript: str, max_length: int) -> str:
    return sanitize_text(transcript, max_length).lstrip("/").strip()


async def voice_text(
    metadata: Mapping[str, Any],
    transcriber: Optional[Transcriber],
    *,
    text: str = MEDIA_PAYLOAD,
) -> VoiceResult:
    """The text for Rasa of a voice note (see `VoiceResult`); never raises.

    `text` is the message's text from `parse_inbound_form`: anything but `/enviar_media` means the
    body had words, so the message is not treated as a voice note.
    """
    global _not_configured_logged
    media = voice_media(metadata, text)
    if media is None:
        return NOT_A_VOICE_NOTE
    message_sid = metadata.get("message_sid")
    if transcriber is None:
        if not _not_configured_logged:
            _not_configured_logged = True
            logger.info("voice notes get the text-only reply: TRANSCRIPTION_API_URL is not set")
        return _failed(NOT_CONFIGURED)
    try:
        transcript = await transcriber.transcribe_media(media["url"], media["content_type"])
    except TranscriptionFailed as exc:
        cause = type(exc.__cause__ or exc).__name__
        logger.warning("voice note %s not transcribed: %s (%s: %s)", message_sid, exc.reason, cause, exc.detail)
        return _failed(exc.reason)
    except Exception as exc:  # a bug of ours must not cost the client the polite reply
        logger.error("voice note %s: transcription crashed (%s)", message_sid, type(exc).__name__, exc_info=True)
        return _failed(INTERNAL_ERROR)
    cleaned = _clean(transcript.text, transcriber.settings.max_message_length)
    if not cleaned:
        logger.warning("voice note %s not transcribed: %s (nothing left after sanitizing)", message_sid, EMPTY)
        return _failed(EMPTY)
    VOICE_NOTES.labels(outcome=TRANSCRIBED).inc()
    logger.info("voice note %s transcribed in %.2fs by %s (%d chars)", message_sid, transcript.seconds,
                transcript.model, len(cleaned))
    return VoiceResult(text=cleaned, transcript=cleaned, seconds=transcript.seconds, model=transcript.model)


def voice_metadata(result: VoiceResult) -> Dict[str, Any]:
    """What goes into the Rasa message metadata: the transcript and how it was made, or the failure."""
    if not result.is_voice_note:
        return {}
    if result.failure is not None:
        return {"voice": {"failure": result.failure}}
    return {"voice": {"transcript": result.transcript, "seconds": result.seconds, "model": result.model}}
