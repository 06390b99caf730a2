"""One settings object, read from the environment once.

Rasa's `${VAR}` in YAML fails when a variable is unset, so every default lives here and our own
classes (channel, tracker store, lock store, action server, clients) read this object. Nothing else
in the project reads `os.environ`.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple

from rasa_project.phones import whatsapp_address

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LOCAL_STATE_DIR = PROJECT_ROOT / "var"

TWILIO_DEFAULT_API_BASE_URL = "https://api.twilio.com"
OPENROUTER_DEFAULT_BASE_URL = "https://openrouter.ai/api/v1"


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on", "si", "sí"}


def _tuple(value: str) -> Tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def parse_templates(raw: str) -> Dict[str, str]:
    """"recordatorio_cita=HX...,oferta_lugar=HX..." → {name: Content SID}; blanks ignored.

    Raises ValueError naming the entry that is not `name=HX...`, so a typo fails loudly at start-up
    instead of silently skipping every reminder."""
    mapping: Dict[str, str] = {}
    for entry in _tuple(raw or ""):
        name, sep, sid = (part.strip() for part in entry.partition("="))
        if not sep or not name or not sid.startswith("HX"):
            raise ValueError(f"WHATSAPP_TEMPLATES entry {entry!r} is not name=HX<content sid>")
        mapping[name] = sid
    return mapping


@dataclass(frozen=True)
class Settings:
    """Every knob of the assistant; field names are the environment variables, lower-cased."""

    # Twilio / WhatsApp channel
    twilio_account_sid: str = "AC00000000000000000000000000000000"
    twilio_auth_token: str = "local-sandbox-auth-token"
    twilio_whatsapp_number: str = "whatsapp:+14155238886"
    twilio_messaging_service_sid: str = ""
    twilio_api_base_url: str = TWILIO_DEFAULT_API_BASE_URL
    webhook_public_url: str = ""
    webhook_validate_signature: bool = True
    max_message_length: int = 1000
    rate_limit_messages: int = 12
    rate_limit_window_seconds: float = 60.0
    outbound_max_attempts: int = 5
    outbound_backoff_base_seconds: float = 0.5
    outbound_backoff_max_seconds: float = 8.0
    inbox_lease_seconds: float = 120.0
    inbox_poll_seconds: float = 2.0
    inbox_max_attempts: int = 5
    inbox_retry_base_seconds: float = 1.0
    twilio_timeout_seconds: float = 15.0
    # Waking the worker across processes (docs/deployment.md): every inbox insert sends a Postgres NOTIFY in its
    # transaction and the Rasa processes LISTEN (ignored on SQLite; the poller stays the fallback)
    inbox_notify: bool = True
    # The public Twilio routes (webhook, status callbacks) on the Rasa process; false when ingress processes
    # (`python -m rasa_project ingress`) serve them: the production layout
    channel_serve_webhook: bool = True
    ingress_host: str = "127.0.0.1"
    ingress_port: int = 5006
    # What a process (Rasa, ingress, action server, reminders) holds once started, the model above all, is frozen
    # out of Python's full garbage collections (`rasa_project/garbage_collection.py`); false: CPython's default
    gc_freeze_after_start: bool = True

    # Conversation log (Rasa SQL tracker store + our tables)
    tracker_db_url: str = f"sqlite:///{LOCAL_STATE_DIR / 'conversations.db'}"
    tracker_db_pool_size: int = 5
    tracker_db_max_overflow: int = 10
    tracker_db_pool_recycle_seconds: int = 1800
    tracker_window_events: int = 50

    # Lock store
    redis_url: str = ""

    # Action server
    action_server_url: str = "http://127.0.0.1:5055/webhook"
    action_server_token: str = ""
    action_server_host: str = "127.0.0.1"
    action_server_port: int = 5055
    # Rasa's own action call waits 300 s in one number, connect included; the WhatsApp channel gives the
    # connect and the whole call these (then the turn fails and the inbox retries it).
    action_server_connect_timeout_seconds: float = 5.0
    action_server_timeout_seconds: float = 30.0

    # Internal booking API
    booking_api_url: str = "http://127.0.0.1:8081"
    booking_api_token: str = "local-booking-api-token"
    booking_api_timeout_seconds: float = 5.0
    booking_api_max_retries: int = 2
    business_timezone: str = "America/Mexico_City"
    business_name: str = "Estudio Equilibrio"
    # no free cancel or change this close to the start; the bot says so and calls nothing (0 = off)
    change_notice_hours: float = 12.0

    # LLM phrasing on OpenRouter (or any OpenAI-compatible server)
    openrouter_base_url: str = OPENROUTER_DEFAULT_BASE_URL
    openrouter_api_key: str = ""
    openrouter_model: str = "meta-llama/llama-3.1-8b-instruct"
    openrouter_fallback_models: Tuple[str, ...] = ()
    openrouter_app_url: str = "https://github.com/estudio/whatsapp-assistant"
    openrouter_app_title: str = "Asistente WhatsApp"
    llm_timeout_seconds: float = 4.0
    llm_skip_intents: Tuple[str, ...] = ("saludo", "despedida", "ayuda")
    llm_history_turns: int = 4

    # Voice notes: transcription on any OpenAI-compatible server (`POST {url}/audio/transcriptions`); no URL = off
    transcription_api_url: str = ""
    transcription_api_key: str = ""
    transcription_model: str = "whisper-1"
    transcription_timeout_seconds: float = 20.0
    voice_note_max_bytes: int = 16 * 1024 * 1024

    # Conversation events streamed to a broker (Rasa's event broker), redacted like the log; no URL = off.
    # amqp://user:password@host:5672/vhost is RabbitMQ through Rasa's PikaEventBroker.
    event_broker_url: str = ""
    event_broker_queue: str = "rasa_events"

    # Human handoff: a person of the team takes over the conversation (the bot stays silent meanwhile)
    handoff_idle_minutes: float = 240.0  # hand back to the bot after this long without messages (0 = never)
    handoff_notify_url: str = ""  # POSTed {client, reason, last turns} when a conversation is handed off; "" = off
    operator_api_token: str = ""  # bearer token of the operator API (/webhooks/whatsapp/operator/...); "" = closed
    # When the team answers: "lun-vie 09:00-20:00, sab 09:00-14:00" in business_timezone; holidays as ISO dates
    business_hours: str = "lun-vie 09:00-20:00, sab 09:00-14:00"
    business_holidays: Tuple[str, ...] = ()

    # Chatwoot (the team's helpdesk), through an API-channel inbox; no base URL = no mirror
    chatwoot_base_url: str = ""
    chatwoot_account_id: int = 1
    chatwoot_inbox_id: int = 1
    chatwoot_api_token: str = ""
    chatwoot_webhook_secret: str = ""  # the inbox's webhook secret (X-Chatwoot-Signature) and the ?token= of its URL

    # Options as WhatsApp buttons (Twilio Content API: quick-reply up to 3, list picker up to 10); off = numbered text
    whatsapp_native_buttons: bool = True
    # WhatsApp's customer-service window (docs/whatsapp-window.md): outside it only approved templates go out.
    # Templates: "name=HXsid,name=HXsid" (our template names → their approved Content SIDs); "" = none.
    whatsapp_templates: str = ""
    whatsapp_window_hours: float = 24.0

    # SMS on the same webhook: replies to clients who wrote by SMS go from this number, split at this many
    # concatenated segments per message (GSM-7 153 / UCS-2 67 characters each)
    twilio_sms_number: str = "+15005550006"
    sms_max_segments: int = 10

    # "¿Qué tal te atendí? 1–5" after a completed booking, cancellation or payment link; at most once per
    # client in this many days (0 = never asked)
    satisfaction_survey_days: int = 30

    # Waitlist of full slots (docs/waitlist.md): a freed place is offered to one waiting client at a time
    waitlist_offer_minutes: float = 30.0  # how long an offered place waits for the client's "sí"
    waitlist_min_lead_minutes: float = 30.0  # no offer for a slot that starts sooner; its waiting entries expire
    waitlist_poll_seconds: float = 30.0  # how often the scheduler runs the sweep and reads the schedule

    # Reminders of upcoming bookings (docs/reminders.md): stored in Postgres, sent through the inbox as proactive
    # messages. Offsets before the start: "24h,2h" (m, h, d; whole days keep the wall-clock time in business_timezone)
    reminder_offsets: Tuple[str, ...] = ("24h", "2h")
    reminders_sync_seconds: float = 300.0  # read the booking API's upcoming bookings this often
    reminders_poll_seconds: float = 5.0  # claim due reminders this often
    reminders_min_lead_minutes: int = 60  # never remind when the class starts sooner than this (skipped too_late)
    reminders_in_process: bool = False  # run the sync and the scheduler inside the Rasa process (with the channel)
    reminders_batch: int = 50  # due reminders claimed per transaction
    # `python -m rasa_project reminders` serves its Prometheus metrics (reminders, waitlist) on GET /metrics here
    # (0: no endpoint); one port per such process on a host
    reminders_metrics_host: str = "127.0.0.1"
    reminders_metrics_port: int = 9102

    # Local sandboxes (the README's run command)
    sandbox_booking_db_url: str = f"sqlite:///{LOCAL_STATE_DIR / 'booking_sandbox.db'}"
    sandbox_twilio_port: int = 8082
    sandbox_chatwoot_port: int = 8085
    rasa_port: int = 5005

    @property
    def twilio_sender(self) -> str:
        """The `From` of outbound messages, always in `whatsapp:+E164` form."""
        return whatsapp_address(self.twilio_whatsapp_number)

    @property
    def template_sids(self) -> Dict[str, str]:
        """`whatsapp_templates` parsed (see `parse_templates`)."""
        return parse_templates(self.whatsapp_templates)

    @property
    def llm_enabled(self) -> bool:
        return bool(self.openrouter_api_key)

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None) -> Settings:
        """Build settings from `environ` (default: the process environment); unset keeps the default."""
        env = os.environ if environ is None else environ
        values: Dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f.name.upper())
            if raw is None or raw == "":
                continue
            default = f.default
            if isinstance(default, bool):
                values[f.name] = _bool(raw)
            elif isinstance(default, int):
                values[f.name] = int(raw)
            elif isinstance(default, float):
                values[f.name] = float(raw)
            elif isinstance(default, tuple):
                values[f.name] = _tuple(raw)
            else:
                values[f.name] = raw
        return cls(**values)


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    return Settings.from_env()
