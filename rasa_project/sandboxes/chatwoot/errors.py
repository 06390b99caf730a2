"""The answers Chatwoot gives instead of a resource, as its RequestExceptionHandler renders them."""

from __future__ import annotations

from typing import Any, Dict, List


class ChatwootError(Exception):
    """An answer Chatwoot gives instead of the resource: HTTP status and JSON body."""

    def __init__(self, status: int, body: Dict[str, Any]) -> None:
        super().__init__(body)
        self.status = status
        self.body = body


def not_found() -> ChatwootError:
    return ChatwootError(404, {"error": "Resource could not be found"})


def could_not_create(message: str) -> ChatwootError:
    return ChatwootError(422, {"error": message})


def record_invalid(messages: List[str], attributes: List[str]) -> ChatwootError:
    return ChatwootError(422, {"message": ", ".join(messages), "attributes": attributes})


def internal_error() -> ChatwootError:
    """What Rails answers for an exception no handler rescues (e.g. ActiveRecord::RecordNotUnique)."""
    return ChatwootError(500, {"status": 500, "error": "Internal Server Error"})


class SourceIdTaken(Exception):
    """Another contact of the inbox already has this source id (ActiveRecord::RecordNotUnique)."""
