"""OpenAI-compatible speech-to-text stand-in (`python -m rasa_project.sandboxes.transcription`)."""

from rasa_project.sandboxes.transcription.app import (
    DEFAULT_TRANSCRIPT,
    TRANSCRIPT_MARKER,
    create_app,
    fake_voice_note,
)

__all__ = ["DEFAULT_TRANSCRIPT", "TRANSCRIPT_MARKER", "create_app", "fake_voice_note"]
