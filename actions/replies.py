"""One path for every reply built from facts: template → phrasing → message with its facts.

The domain response, filled with the formatted facts, is a correct reply on its own; the phrasing
layer may reword it (never its facts). The bot message carries the facts, the template name, how it
was phrased and any error in its metadata, so the conversation log can be audited and counted
(analytics read `metadata.error.type`, `metadata.phrasing.reason` and `metadata.event`;
`metadata.template_name` names the domain response).
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Awaitable, Callable, Dict, Generic, List, Mapping, Optional, Sequence, TypeVar

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.formatting import first_name
from actions.identity import client_phone
from actions.services import Services
from rasa_project.booking_api.errors import BookingApiError, ClientNotFound
from rasa_project.metrics import ACTION_API_ERRORS, ACTION_STORE_ERRORS
from rasa_project.phrasing import PhrasingRequest, Turn

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass
class ClientCall(Generic[T]):
    """The result of an API call made for the client writing, or why there is none."""

    ok: bool
    value: Optional[T] = None
    events: List[EventType] = field(default_factory=list)


@dataclass
class ApiCall:
    """What `Replier.calling_api` saw: whether the block failed, and the slot events its failure implies."""

    failed: bool = False
    events: List[EventType] = field(default_factory=list)


class _KeepMissing(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render_template(domain: DomainDict, response: str, values: Mapping[str, Any]) -> str:
    """The first text variation of `response` filled with `values` (slots are not consulted)."""
    variations = domain.get("responses", {}).get(response) or []
    for variation in variations:
        if "condition" not in variation and variation.get("text"):
            return variation["text"].format_map(_KeepMissing({k: str(v) for k, v in values.items()}))
    raise KeyError(f"domain has no unconditional text response {response!r}")


def say_first(dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict, response: str, template: str,
              values: Mapping[str, Any], variables: Sequence[str], buttons: List[Dict[str, str]], *, event: str,
              facts: Mapping[str, Any]) -> None:
    """A message the bot sends first (a reminder, an offer): `response` rendered with `values` for inside
    WhatsApp's 24-hour window, and the approved `template`'s variables (the client's first name, then
    `variables`) for outside it; the channel picks (docs/whatsapp-window.md). Never phrased by the LLM:
    both must say the same thing."""
    name = first_name(tracker.get_slot("nombre_cliente")) or ""
    text = render_template(domain, response, {"nombre": f" {name}" if name else "", **values})
    numbered = {str(n): value for n, value in enumerate([name or "👋", *variables], start=1)}
    dispatcher.utter_message(
        json_message={"template": {"name": template, "text": text, "buttons": buttons, "variables": numbered}},
        template_name=response, event=event, facts=dict(facts))


async def best_effort(call: Awaitable[T], during: str, then: str) -> Optional[T]:
    """A write to the reminders or waitlist store that must never cost the client their answer: a failure is
    logged with what happens instead (`then`) and counted; None is returned."""
    try:
        return await call
    except Exception as exc:
        ACTION_STORE_ERRORS.labels(during=during, kind=type(exc).__name__).inc()
        logger.error("%s failed (%s: %s); %s", during, type(exc).__name__, exc, then)
        return None


def recent_turns(tracker: Tracker, limit: int) -> List[Turn]:
    """The last `limit` user/bot messages before the current user message, oldest first."""
    turns: List[Turn] = []
    events = list(tracker.events)
    # drop the current user message: it is passed separately as `user_message`
    for event in reversed(events):
        if event.get("event") == "user":
            events = events[: events.index(event)]
            break
    for event in events:
        if event.get("event") in ("user", "bot") and event.get("text"):
            turns.append(Turn("user" if event["event"] == "user" else "bot", event["text"]))
    return turns[-limit:] if limit > 0 else []


class Replier:
    """Builds and sends replies for one action run."""

    def __init__(
        self, services: Services, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> None:
        self.services = services
        self.dispatcher = dispatcher
        self.tracker = tracker
        self.domain = domain

    @property
    def intent(self) -> str:
        return (self.tracker.latest_message or {}).get("intent", {}).get("name") or ""

    async def say(
        self,
        response: str,
        values: Mapping[str, Any] | None = None,
        facts: Mapping[str, Any] | None = None,
        *,
        buttons: List[Dict[str, str]] | None = None,
        event: str | None = None,
        error: Dict[str, Any] | None = None,
    ) -> None:
        values = dict(values or {})
        template_text = render_template(self.domain, response, values)
        settings = self.services.settings
        reply = await self.services.phraser.phrase(
            PhrasingRequest(
                intent=self.intent,
                facts={**values, **dict(facts or {})},
                template_text=template_text,
                first_name=first_name(self.tracker.get_slot("nombre_cliente")),
                history=recent_turns(self.tracker, settings.llm_history_turns * 2),
                user_message=(self.tracker.latest_message or {}).get("text") or "",
            )
        )
        metadata: Dict[str, Any] = {
            "template_name": response,
            "facts": {**values, **dict(facts or {})},
            **reply.as_metadata(),  # {"phrasing": {source, reason, model, tokens, latency_ms}}
        }
        if event:
            metadata["event"] = event
        if error:
            metadata["error"] = error
        self.dispatcher.utter_message(text=reply.text, buttons=buttons or [], **metadata)

    @asynccontextmanager
    async def calling_api(self, during: str) -> AsyncIterator[ApiCall]:
        """The one error path of every booking-API call made by an action.

            async with replier.calling_api("list_packages") as call:
                packages = await api.list_packages()
            if call.failed:
                return call.events

        A `BookingApiError` raised in the block is not raised further: an unknown number is told how to
        register (and `cliente_registrado` becomes False), any other failure gets the polite apology,
        logged and counted (`api_error`). Errors the action answers itself (a 409 it explains) are
        caught inside the block first.
        """
        call = ApiCall()
        try:
            yield call
        except ClientNotFound:
            call.failed = True
            await self.say("utter_cliente_no_registrado")
            call.events.append(SlotSet("cliente_registrado", False))
        except BookingApiError as exc:
            call.failed = True
            await self.api_error(exc, during=during)

    async def api_error(self, exc: BookingApiError, *, during: str) -> None:
        """A polite Spanish apology, the error logged, counted and recorded for the analytics."""
        logger.error(
            "booking API error during %s: kind=%s status=%s code=%s: %s",
            during, exc.kind, exc.status, exc.code, exc,
        )
        ACTION_API_ERRORS.labels(during=during, kind=exc.kind).inc()
        error = {"type": f"booking_api.{exc.kind}", "status": exc.status, "code": exc.code, "during": during}
        template_text = render_template(self.domain, "utter_error_api", {})
        self.dispatcher.utter_message(text=template_text, template_name="utter_error_api", error=error)

    def validation_error(self, response: str, kind: str, values: Mapping[str, Any] | None = None) -> None:
        """A form's "that doesn't look right" message, recorded as a validation error."""
        text = render_template(self.domain, response, values or {})
        self.dispatcher.utter_message(text=text, template_name=response, error={"type": f"validation.{kind}"})

    async def for_client(self, call: Callable[[str], Awaitable[T]], *, during: str) -> ClientCall[T]:
        """`call(phone)` for the client writing. Without a phone number (not WhatsApp), for a number
        the API does not know, or when the API fails, the client is told why and `ok` is False."""
        phone = client_phone(self.tracker)
        if phone is None:
            await self.say("utter_sin_telefono")
            return ClientCall(False)
        async with self.calling_api(during) as api_call:
            return ClientCall(True, await call(phone))
        return ClientCall(False, events=api_call.events)
