"""The one async client of Chatwoot's Application API (the slice the handoff uses).

Same shape as the booking API client: one connection pool, timeouts, typed errors, retries with the
project's backoff in one place. Reads (and writes that surely never left: connect errors) are retried;
a write that may have reached Chatwoot (read timeout, 5xx) is not, because Chatwoot has no idempotency
key for messages: the mirror decides, after looking for the message by its `source_id`
(`find_message`), whether to post it again.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional

import httpx

from rasa_project.backoff import backoff_delay
from rasa_project.settings import Settings

logger = logging.getLogger(__name__)

_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_TRANSPORT = (httpx.TimeoutException, httpx.TransportError)
_MAX_BACKOFF_SECONDS = 2.0


class ChatwootError(Exception):
    """Any failure talking to Chatwoot; `kind` is a small closed set (metrics labels, `last_error`)."""

    kind = "http_error"

    def __init__(self, message: str, *, status: Optional[int] = None) -> None:
        super().__init__(message)
        self.status = status


class ChatwootUnavailable(ChatwootError):
    """No usable answer (connect error, timeout, 5xx, 429): retry later, the request may have landed."""

    kind = "unavailable"


class ChatwootAuthError(ChatwootError):
    """The token was refused (401/403): a deployment problem; retried until someone fixes it."""

    kind = "auth"


class ChatwootNotFound(ChatwootError):
    """The contact, conversation, inbox or account does not exist (404), e.g. deleted in the console."""

    kind = "not_found"


class ChatwootInvalid(ChatwootError):
    """Chatwoot rejected the request itself (400/422): sending it again will not help."""

    kind = "invalid"


@dataclass(frozen=True)
class ContactRef:
    """A contact and the `source_id` of its contact inbox in our API inbox (what conversations need)."""

    contact_id: int
    source_id: str


class ChatwootClient:
    """Async client for one account and one API-channel inbox; `aclose()` when done."""

    def __init__(self, base_url: str, account_id: int, inbox_id: int, api_token: str, *,
                 timeout: float = 10.0, max_retries: int = 2, backoff_base: float = 0.2) -> None:
        self.account_id, self.inbox_id = account_id, inbox_id
        self._max_retries = max(0, int(max_retries))
        self._backoff_base = max(0.0, float(backoff_base))
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"api_access_token": api_token, "Accept": "application/json"},
            timeout=httpx.Timeout(timeout, connect=min(timeout, 3.0)),
            limits=httpx.Limits(max_connections=10, max_keepalive_connections=5),
            follow_redirects=False,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> ChatwootClient:
        return cls(settings.chatwoot_base_url, settings.chatwoot_account_id, settings.chatwoot_inbox_id,
                   settings.chatwoot_api_token)

    async def aclose(self) -> None:
        await self._http.aclose()

    @property
    def _account(self) -> str:
        return f"/api/v1/accounts/{self.account_id}"

    # -- contacts ------------------------------------------------------------------------------------

    async def find_or_create_contact(self, phone: str, name: Optional[str] = None) -> ContactRef:
        """The contact whose phone or identifier is `phone` (E.164), created in our inbox when missing
        (identifier = the number, source_id = the number), with a contact inbox in our inbox."""
        contact = await self._search_contact(phone)
        if contact is None:
            body = {"name": name or phone, "phone_number": phone, "identifier": phone,
                    "inbox_id": self.inbox_id, "source_id": phone}
            try:
                created = await self._call("POST", f"{self._account}/contacts", json=body)
            except ChatwootInvalid:  # created meanwhile (by us after a lost answer, or an agent)
                contact = await self._search_contact(phone)
                if contact is None:
                    raise
            else:
                source_id = (created["payload"].get("contact_inbox") or {}).get("source_id")
                if source_id:
                    return ContactRef(int(created["payload"]["contact"]["id"]), str(source_id))
                contact = created["payload"]["contact"]
        assert contact is not None
        return await self._in_our_inbox(contact, phone)

    async def _search_contact(self, phone: str) -> Optional[Dict[str, Any]]:
        # httpx encodes "+" as %2B; a raw "+" would be a space in Chatwoot's query
        found = await self._call("GET", f"{self._account}/contacts/search", params={"q": phone})
        for contact in found.get("payload") or []:
            if phone in (contact.get("phone_number"), contact.get("identifier")):
                return contact
        return None

    async def _in_our_inbox(self, contact: Mapping[str, Any], phone: str) -> ContactRef:
        contact_id = int(contact["id"])
        for record in contact.get("contact_inboxes") or []:
            if str((record.get("inbox") or {}).get("id")) == str(self.inbox_id) and record.get("source_id"):
                return ContactRef(contact_id, str(record["source_id"]))
        try:
            record = await self._call("POST", f"{self._account}/contacts/{contact_id}/contact_inboxes",
                                      json={"inbox_id": self.inbox_id, "source_id": phone})
        except ChatwootUnavailable as exc:  # the number is another contact's source id: Chatwoot's own UUID
            if exc.status != 500:
                raise
            record = await self._call("POST", f"{self._account}/contacts/{contact_id}/contact_inboxes",
                                      json={"inbox_id": self.inbox_id})
        return ContactRef(contact_id, str(record["source_id"]))

    # -- conversations -------------------------------------------------------------------------------

    async def create_conversation(self, contact: ContactRef, *, status: str = "pending",
                                  custom_attributes: Optional[Mapping[str, Any]] = None) -> int:
        """A conversation in our inbox; `pending` while the bot handles it (opening it hands over)."""
        body = {"source_id": contact.source_id, "inbox_id": self.inbox_id, "contact_id": contact.contact_id,
                "status": status, "additional_attributes": {"channel": "whatsapp"},
                "custom_attributes": dict(custom_attributes or {})}
        created = await self._call("POST", f"{self._account}/conversations", json=body)
        return int(created["id"])

    async def get_conversation(self, conversation_id: int) -> Dict[str, Any]:
        return await self._call("GET", f"{self._account}/conversations/{conversation_id}")

    async def toggle_status(self, conversation_id: int, status: str) -> str:
        """Set `open`, `pending`, `resolved` or `snoozed`; returns the status Chatwoot now has."""
        answer = await self._call("POST", f"{self._account}/conversations/{conversation_id}/toggle_status",
                                  json={"status": status})
        return str(answer["payload"]["current_status"])

    # -- messages ------------------------------------------------------------------------------------

    async def post_message(self, conversation_id: int, content: str, *, incoming: bool = False,
                           private: bool = False, source_id: Optional[str] = None) -> Dict[str, Any]:
        """An incoming (the client's) or outgoing (the bot's, or a private note) message. `source_id`
        (also sent as `echo_id`) marks it as ours: `find_message` finds it, our webhook skips it."""
        body: Dict[str, Any] = {"content": content, "message_type": "incoming" if incoming else "outgoing",
                                "private": private}
        if source_id:
            body.update(source_id=source_id, echo_id=source_id)
        return await self._call("POST", f"{self._account}/conversations/{conversation_id}/messages", json=body)

    async def list_messages(self, conversation_id: int) -> List[Dict[str, Any]]:
        """The conversation's latest 20 messages, oldest first."""
        answer = await self._call("GET", f"{self._account}/conversations/{conversation_id}/messages")
        return list(answer.get("payload") or [])

    async def find_message(self, conversation_id: int, source_id: str) -> Optional[Dict[str, Any]]:
        """Our message with `source_id` among the latest ones (an earlier attempt may have landed)."""
        for message in reversed(await self.list_messages(conversation_id)):
            if message.get("source_id") == source_id or message.get("echo_id") == source_id:
                return message
        return None

    async def profile(self) -> Dict[str, Any]:
        """The token's user: a cheap "is Chatwoot up and is the token good" probe."""
        return await self._call("GET", "/api/v1/profile")

    # -- the one place that speaks HTTP --------------------------------------------------------------

    async def _call(self, method: str, path: str, *, params: Optional[Mapping[str, str]] = None,
                    json: Any = None) -> Any:
        attempt = 0
        while True:
            try:
                response = await self._http.request(method, path, params=params, json=json)
            except _TRANSPORT as exc:
                reason = f"{type(exc).__name__}: {exc}"
                retryable = method == "GET" or isinstance(exc, _NOT_SENT)
                if not retryable or attempt >= self._max_retries:
                    raise ChatwootUnavailable(f"{method} {path}: {reason}") from exc
            else:
                status = response.status_code
                if status < 400:
                    try:
                        return response.json()
                    except ValueError as exc:
                        raise ChatwootUnavailable(f"{method} {path}: unparseable body", status=status) from exc
                error = self._error(response, f"{method} {path}")
                if not isinstance(error, ChatwootUnavailable) or method != "GET" or attempt >= self._max_retries:
                    raise error
                reason = f"HTTP {status}"
            attempt += 1
            delay = backoff_delay(attempt, self._backoff_base, _MAX_BACKOFF_SECONDS)
            logger.info("Chatwoot %s %s: %s, retry %d in %.2fs", method, path, reason, attempt, delay)
            await asyncio.sleep(delay)

    @staticmethod
    def _error(response: httpx.Response, endpoint: str) -> ChatwootError:
        status = response.status_code
        try:
            body = response.json()
            detail = body.get("error") or body.get("message") or body.get("errors") if isinstance(body, dict) else body
        except ValueError:
            detail = response.text[:200]
        message = f"{endpoint}: HTTP {status}: {detail}"
        if status in (401, 403):
            return ChatwootAuthError(message, status=status)
        if status == 404:
            return ChatwootNotFound(message, status=status)
        if status in (400, 422):
            return ChatwootInvalid(message, status=status)
        if status >= 500 or status == 429:
            return ChatwootUnavailable(message, status=status)
        return ChatwootError(message, status=status)
