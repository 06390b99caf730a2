"""What an action hands to the phraser and what it gets back.

The request carries both the structured facts and a correct template reply built from them, so the
phraser can always fall back to the template; the reply says which text was used and why, for the log.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Mapping, Sequence

SOURCE_LLM = "llm"
SOURCE_TEMPLATE = "template"

# Why the template was used (also the `outcome` label of LLM_CALLS, next to "llm").
REASON_NO_API_KEY = "no_api_key"
REASON_SKIPPED_INTENT = "skipped_intent"
REASON_TIMEOUT = "timeout"
REASON_HTTP_ERROR = "http_error"
REASON_RATE_LIMITED = "rate_limited"
REASON_AUTH_ERROR = "auth_error"
REASON_EMPTY_OUTPUT = "empty_output"
REASON_GROUNDING_FAILED = "grounding_failed"
REASON_TOO_LONG = "too_long"
# A bug of ours (an unexpected exception); logged with its type, never raised into the action.
REASON_INTERNAL_ERROR = "internal_error"


@dataclass(frozen=True)
class Turn:
    """One earlier message of the conversation, oldest first in a history."""

    role: str  # "user" | "bot"
    text: str


@dataclass(frozen=True)
class PhrasingRequest:
    """The facts of one reply, its correct template text, and the context to phrase it warmly."""

    intent: str
    facts: Mapping[str, Any]
    template_text: str
    first_name: str | None = None
    history: Sequence[Turn] = ()
    user_message: str = ""


@dataclass(frozen=True)
class PhrasedReply:
    """The text to send, where it came from and what it cost."""

    text: str
    source: str
    reason: str | None
    model: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: float = 0.0

    def as_metadata(self) -> Dict[str, Any]:
        """JSON-safe summary for the bot event's metadata (never the prompt or the facts)."""
        return {
            "phrasing": {
                "source": self.source,
                "reason": self.reason,
                "model": self.model,
                "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens,
                "latency_ms": round(self.latency_ms, 1),
            }
        }
