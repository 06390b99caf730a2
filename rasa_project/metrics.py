"""Prometheus metrics of the whole assistant, declared once so every module counts into the same names.

The Rasa server process exposes them at `GET /webhooks/whatsapp/metrics`; the action server at
`GET /metrics` on its own port. Labels are small closed sets (never a sender or a message text).
"""

from prometheus_client import Counter, Gauge, Histogram

INBOUND_MESSAGES = Counter(
    "whatsapp_inbound_messages_total",
    "Inbound webhook requests by outcome (accepted, duplicate, forbidden, invalid, rate_limited, opted_out)",
    ["outcome"],
)
TURNS = Counter("assistant_turns_total",
                "Turns processed by Rasa, by outcome (ok, failed, retried; skipped: a proactive message to an "
                "opted-out client)", ["outcome"])
TURN_LATENCY = Histogram(
    "assistant_turn_seconds",
    "Time from taking a message out of the inbox to the last reply accepted by Twilio",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32),
)
GC_PAUSES = Histogram(
    "assistant_gc_pause_seconds",
    "Python garbage collections by generation and how long each paused the process (2 = full collection)",
    ["generation"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1),
)
ACK_LATENCY = Histogram(
    "whatsapp_webhook_ack_seconds",
    "Time to answer Twilio's webhook (validation + inbox insert)",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1),
)
OUTBOUND_SENDS = Counter(
    "whatsapp_outbound_messages_total",
    "Outbound message attempts and statuses (accepted, retried, failed, delivered, read, undelivered; "
    "not_repeated: a retried turn's reply an earlier attempt already sent)",
    ["status"],
)
LLM_CALLS = Counter(
    "llm_phrasing_calls_total",
    "Phrasing outcomes: llm, or why the template was used (no_api_key, skipped_intent, timeout, http_error, "
    "rate_limited, auth_error, empty_output, grounding_failed, too_long, internal_error)",
    ["outcome"],
)
LLM_LATENCY = Histogram(
    "llm_phrasing_seconds", "LLM call latency", buckets=(0.1, 0.25, 0.5, 1, 2, 4, 8)
)
LLM_TOKENS = Counter("llm_tokens_total", "Tokens used by the phrasing LLM", ["kind"])
BOOKING_API_CALLS = Counter(
    "booking_api_calls_total",
    "Internal booking API calls by endpoint (method + path template) and outcome (ok, 4xx code, error kind)",
    ["endpoint", "outcome"],
)
ACTION_API_ERRORS = Counter(
    "assistant_action_api_errors_total",
    "Booking-API failures an action apologized for, by the call it was making and the error kind",
    ["during", "kind"],
)
ACTION_STORE_ERRORS = Counter(
    "assistant_action_store_errors_total",
    "Failures of the reminders or waitlist store inside an action (the client's answer still goes out)",
    ["during", "kind"],
)
VOICE_NOTES = Counter(
    "whatsapp_voice_notes_total",
    "Inbound voice notes by outcome: transcribed, or why the polite text-only reply was used (not_configured, "
    "download_failed, too_large, timeout, http_error, empty, internal_error)",
    ["outcome"],
)
TRANSCRIPTION_LATENCY = Histogram(
    "whatsapp_voice_note_transcription_seconds",
    "Time to download and transcribe one voice note (successes and failures)",
    buckets=(0.25, 0.5, 1, 2, 4, 8, 16, 32),
)
INBOX_BACKLOG = Gauge("whatsapp_inbox_backlog", "Inbound messages accepted but not yet processed")
INBOX_HANDOFFS = Counter(
    "whatsapp_inbox_handoffs_total",
    "Senders a busy instance handed on to whichever instance is free (several instances share the inbox: "
    "connectors/whatsapp/worker.py) instead of claiming their next message itself",
)
INBOX_WAKEUPS = Counter(
    "whatsapp_inbox_wakeups_total",
    "Wake-ups of a sender's drain in the inbox worker, by source: local (this process stored the message), "
    "notify (Postgres NOTIFY from an ingress or another process), poll (the poller found it ready)",
    ["source"],
)
EVENT_BROKER_EVENTS = Counter(
    "assistant_event_broker_events_total",
    "Conversation events streamed to the event broker, by outcome: published (the broker confirmed it); failed "
    "(it could not go when due, broker down or refusing: kept and retried, counted once per event); dropped "
    "(never streamed: the buffer was full or the process stopped first; the conversation log still has it)",
    ["outcome"],
)
EVENT_BROKER_CONNECTIONS = Counter(
    "assistant_event_broker_connections_total",
    "Attempts to open the event broker connection, by outcome (connected, failed); reconnects after a lost "
    "connection are the client's own and not counted",
    ["outcome"],
)
EVENT_BROKER_PENDING = Gauge(
    "assistant_event_broker_pending", "Conversation events waiting for the event broker (in memory, bounded)"
)
SATISFACTION_QUESTIONS = Counter(
    "assistant_satisfaction_questions_total",
    "Times the bot asked '¿Qué tal te atendí?', by the task rated (agendar_cita, reprogramar_cita, cancelar_cita, "
    "pagar_servicio)",
    ["sobre"],
)
SATISFACTION_RATINGS = Counter(
    "assistant_satisfaction_ratings_total",
    "Ratings clients gave (1-5), by the task rated",
    ["sobre", "rating"],
)
CONTENT_TEMPLATES = Counter(
    "whatsapp_content_templates_total",
    "Twilio Content resources for WhatsApp buttons, by outcome: created; lost_race (another process stored its "
    "SID first, ours is unused); create_failed (Twilio or the database failed: that message went as numbered "
    "text); forgotten (Twilio no longer knew the SID, e.g. deleted in the console)",
    ["outcome"],
)
OPTION_MESSAGES = Counter(
    "whatsapp_option_messages_total",
    "Messages with options, by how they went: quick_reply, list_picker, numbered (the options do not fit "
    "WhatsApp's buttons, SMS, or native buttons off), fallback (buttons were possible but the Content failed)",
    ["form"],
)
HELPDESK_MIRROR = Counter(
    "assistant_helpdesk_mirror_total",
    "Helpdesk outbox rows handled by the Chatwoot mirror, by kind (message_in, message_out, handoff, handback, "
    "other) and outcome (sent; already_there: a retry found the earlier attempt in Chatwoot; retried: Chatwoot "
    "down or refusing for now, backed off; rejected: refused for good, marked done with the reason; skipped)",
    ["kind", "outcome"],
)
HELPDESK_OUTBOX_BACKLOG = Gauge(
    "assistant_helpdesk_outbox_backlog", "Helpdesk outbox rows not yet in Chatwoot (notifications aside)"
)
HELPDESK_WEBHOOKS = Counter(
    "assistant_helpdesk_webhooks_total",
    "Chatwoot webhooks received, by event (message_created, conversation_status_changed, other) and outcome "
    "(forwarded: an agent's reply sent to the client; handed_back; ignored; duplicate; unauthorized; failed)",
    ["event", "outcome"],
)
WAITLIST_EVENTS = Counter(
    "assistant_waitlist_total",
    "Waitlist moves by event (joined; offered: a freed place offered to a client; booked; declined; expired: "
    "an offer without answer in time or a slot too close to start; failed: an accepted offer whose booking failed)",
    ["event"],
)
REMINDERS_PLANNED = Counter("reminders_planned_total",
                            "Reminder rows created or re-planned (a moved booking) by the planner")
REMINDERS_CLAIMED = Counter("reminders_claimed_total",
                            "Due reminders claimed by the scheduler and queued in the inbox")
REMINDERS_SENT = Counter("reminders_sent_total", "Reminders Twilio accepted (reconciled from the inbox)")
REMINDERS_SKIPPED = Counter(
    "reminders_skipped_total",
    "Reminders not sent on purpose, by reason (too_late, opted_out, undeliverable, superseded, no_message, other)",
    ["reason"],
)
REMINDERS_FAILED = Counter("reminders_failed_total", "Reminders whose proactive turn or send failed")
REMINDER_DELAY = Histogram(
    "reminder_send_delay_seconds",
    "From a reminder's due time to its message reaching Twilio",
    buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600),
)
OUTSIDE_WINDOW_MESSAGES = Counter(
    "whatsapp_outside_window_messages_total",
    "Outbound messages the delivery rules changed (docs/whatsapp-window.md), by outcome: skipped (WhatsApp, "
    "outside the 24-hour window, no approved template: never sent to Twilio); template (sent as the approved "
    "template instead); template_retry (a 63016 retried once as its template); follow_up (a late reply of a "
    "retried turn went as the seguimiento template); undeliverable (not sent: Twilio said the number cannot "
    "get our messages)",
    ["outcome"],
)
UNDELIVERABLE_MARKS = Counter(
    "whatsapp_undeliverable_marks_total",
    "Clients marked undeliverable (proactive messages stop until they write), by Twilio error code "
    "(63003, 63024, 21610, 63014)",
    ["code"],
)
