"""The phraser: one OpenAI-compatible client (OpenRouter by default) that never breaks a reply.

`phrase()` returns the LLM's wording only when it arrived within the time budget and passed the
grounding check; in every other case it returns the action's template text with the reason, counted
in LLM_CALLS. The budget (llm_timeout_seconds) covers the whole call including one retry, because the
turn also holds Rasa's conversation lock and WhatsApp users notice a slow bot.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Dict, List, Tuple

import openai

from rasa_project.metrics import LLM_CALLS, LLM_LATENCY, LLM_TOKENS
from rasa_project.phrasing.grounding import check_reply
from rasa_project.phrasing.prompt import build_messages
from rasa_project.phrasing.types import (
    REASON_AUTH_ERROR,
    REASON_HTTP_ERROR,
    REASON_INTERNAL_ERROR,
    REASON_NO_API_KEY,
    REASON_RATE_LIMITED,
    REASON_SKIPPED_INTENT,
    REASON_TIMEOUT,
    REASON_TOO_LONG,
    SOURCE_LLM,
    SOURCE_TEMPLATE,
    PhrasedReply,
    PhrasingRequest,
)
from rasa_project.settings import Settings

logger = logging.getLogger(__name__)

MAX_COMPLETION_TOKENS = 400  # ~1600 chars of Spanish; the prompt asks for 600
TEMPERATURE = 0.4
MIN_ATTEMPT_SECONDS = 0.25  # a retry with less time left than this cannot succeed: use the template
_no_key_logged = False


class _AttemptFailed(Exception):
    """One LLM call failed; `reason` is the template reason and `retryable` says if a retry may help."""

    def __init__(self, reason: str, retryable: bool, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.retryable = retryable


class Phraser:
    """Phrases facts with the LLM when configured, with the template as the always-correct fallback."""

    def __init__(self, settings: Settings, *, client: openai.AsyncOpenAI | None = None) -> None:
        self._settings = settings
        self._owns_client = client is None
        self._client = client if client is not None else self._build_client(settings)
        # `client.chat` imports openai's resource modules on first access (~1.5 s of blocking imports):
        # pay that here, at start-up, not inside the first client's turn and its time budget.
        self._completions = self._client.chat.completions if self._client is not None else None
        self._skip_intents = frozenset(settings.llm_skip_intents)
        models = (settings.openrouter_model, *settings.openrouter_fallback_models)
        self._models = list(dict.fromkeys(m for m in models if m))

    @classmethod
    def from_settings(cls, settings: Settings) -> Phraser:
        """The phraser for this process; says once at start-up when replies will use the templates."""
        global _no_key_logged
        if not settings.llm_enabled and not _no_key_logged:
            _no_key_logged = True
            logger.info("OPENROUTER_API_KEY is not set: replies use template phrasing (no LLM calls)")
        return cls(settings)

    @staticmethod
    def _build_client(settings: Settings) -> openai.AsyncOpenAI | None:
        if not settings.llm_enabled:
            return None
        headers = {"HTTP-Referer": settings.openrouter_app_url, "X-Title": settings.openrouter_app_title}
        return openai.AsyncOpenAI(
            base_url=settings.openrouter_base_url,
            api_key=settings.openrouter_api_key,
            timeout=settings.llm_timeout_seconds,
            max_retries=0,  # our own single retry, inside the budget
            default_headers={k: v for k, v in headers.items() if v},
        )

    async def aclose(self) -> None:
        if self._client is not None and self._owns_client:
            await self._client.close()

    async def phrase(self, request: PhrasingRequest) -> PhrasedReply:
        """The reply to send: the LLM's grounded wording, or the template with the reason. Never raises."""
        started = time.perf_counter()
        try:
            return await self._phrase(request, started)
        except Exception as exc:  # a bug of ours must not cost the client the reply
            logger.error(
                "phrasing failed unexpectedly (%s: %s); using the template",
                type(exc).__name__,
                exc,
                exc_info=True,
            )
            return self._template(request, REASON_INTERNAL_ERROR, started)

    async def _phrase(self, request: PhrasingRequest, started: float) -> PhrasedReply:
        if request.intent in self._skip_intents:
            return self._template(request, REASON_SKIPPED_INTENT, started)
        if self._completions is None:
            return self._template(request, REASON_NO_API_KEY, started)
        messages = build_messages(
            request,
            history_turns=self._settings.llm_history_turns,
            business_name=self._settings.business_name,
        )
        deadline = started + self._settings.llm_timeout_seconds
        try:
            text, finish_reason, model, usage = await self._complete(messages, deadline)
        except _AttemptFailed as failure:
            LLM_LATENCY.observe(time.perf_counter() - started)
            logger.warning("LLM phrasing failed for intent %s: %s (%s)", request.intent, failure.reason, failure)
            return self._template(request, failure.reason, started)
        LLM_LATENCY.observe(time.perf_counter() - started)
        prompt_tokens, completion_tokens = usage
        LLM_TOKENS.labels(kind="prompt").inc(prompt_tokens)
        LLM_TOKENS.labels(kind="completion").inc(completion_tokens)
        result = check_reply(text, request.facts, request.template_text)
        reason = REASON_TOO_LONG if finish_reason == "length" else result.reason
        if reason is not None:
            logger.warning("LLM reply rejected for intent %s: %s %s", request.intent, reason, list(result.ungrounded))
            return self._template(request, reason, started, model, prompt_tokens, completion_tokens)
        LLM_CALLS.labels(outcome=SOURCE_LLM).inc()
        return PhrasedReply(
            result.text, SOURCE_LLM, None, model, prompt_tokens, completion_tokens, _elapsed_ms(started)
        )

    async def _complete(
        self, messages: List[Dict[str, str]], deadline: float
    ) -> Tuple[str, str | None, str | None, Tuple[int, int]]:
        """One call, and one retry on timeout / 5xx / connection error if the budget still allows it."""
        failure: _AttemptFailed | None = None
        for _ in range(2):
            remaining = deadline - time.perf_counter()
            if remaining < MIN_ATTEMPT_SECONDS and failure is not None:
                break
            if remaining <= 0:
                raise _AttemptFailed(REASON_TIMEOUT, False, "no time left in the budget")
            try:
                return await self._attempt(messages, remaining)
            except _AttemptFailed as exc:
                failure = exc
                if not exc.retryable:
                    break
        assert failure is not None
        raise failure

    async def _attempt(
        self, messages: List[Dict[str, str]], budget: float
    ) -> Tuple[str, str | None, str | None, Tuple[int, int]]:
        """One chat completion, every failure mapped to a template reason (the only place that maps them)."""
        assert self._completions is not None
        extra: Dict[str, Any] = {"models": self._models} if len(self._models) > 1 else {}
        try:
            response = await asyncio.wait_for(
                self._completions.create(
                    model=self._models[0],
                    messages=messages,  # type: ignore[arg-type]
                    temperature=TEMPERATURE,
                    max_tokens=MAX_COMPLETION_TOKENS,
                    timeout=budget,
                    extra_body=extra or None,
                ),
                timeout=budget,  # httpx's timeout is per read; this one bounds the whole call
            )
        except (asyncio.TimeoutError, openai.APITimeoutError) as exc:
            raise _AttemptFailed(REASON_TIMEOUT, True, type(exc).__name__) from exc
        except openai.AuthenticationError as exc:
            raise _AttemptFailed(REASON_AUTH_ERROR, False, f"HTTP {exc.status_code}") from exc
        except openai.RateLimitError as exc:
            raise _AttemptFailed(REASON_RATE_LIMITED, False, f"HTTP {exc.status_code}") from exc
        except openai.APIStatusError as exc:
            raise _AttemptFailed(REASON_HTTP_ERROR, exc.status_code >= 500, f"HTTP {exc.status_code}") from exc
        except openai.APIConnectionError as exc:
            raise _AttemptFailed(REASON_HTTP_ERROR, True, f"{type(exc).__name__}: {exc}") from exc
        except openai.APIError as exc:  # e.g. a body that is not a chat completion
            raise _AttemptFailed(REASON_HTTP_ERROR, False, f"{type(exc).__name__}: {exc}") from exc
        choices = getattr(response, "choices", None) or []
        if not choices:  # OpenRouter reports some upstream failures as a 200 with an `error` object
            error = (getattr(response, "model_extra", None) or {}).get("error") or getattr(response, "error", None)
            raise _AttemptFailed(REASON_HTTP_ERROR, False, f"no choices in the response (error: {error!r})")
        usage = getattr(response, "usage", None)
        tokens = (
            int(getattr(usage, "prompt_tokens", 0) or 0),
            int(getattr(usage, "completion_tokens", 0) or 0),
        )
        message = choices[0].message
        return (message.content or "") if message else "", choices[0].finish_reason, response.model, tokens

    def _template(
        self,
        request: PhrasingRequest,
        reason: str,
        started: float,
        model: str | None = None,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
    ) -> PhrasedReply:
        LLM_CALLS.labels(outcome=reason).inc()
        return PhrasedReply(
            request.template_text,
            SOURCE_TEMPLATE,
            reason,
            model,
            prompt_tokens,
            completion_tokens,
            _elapsed_ms(started),
        )


def _elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0
