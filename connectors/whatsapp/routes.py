"""HTTP endpoints of the channel under `/webhooks/whatsapp/` (paths in `paths.py`): webhook, status
callbacks, health, metrics, and the operator API (`operator_api.py`).

Which routes a process serves depends on its runtime's role (docs/deployment.md): the Rasa process
serves the probes, the operator API and the Chatwoot webhook (they write into Rasa's tracker), and the
Twilio routes (webhook, status callbacks) unless `CHANNEL_SERVE_WEBHOOK=false`; an ingress process
(`ingress.py`) serves the Twilio routes and the probes only, from this same code.

SMS posts come to the same webhook (a bare `From`), signed the same way. A failed delivery's code is
followed up (`after_delivery_error`). The webhook only verifies, parses, sanitizes and stores; it
answers Twilio at once (empty TwiML) and the worker does the rest. A message that was stored is never
answered with a 5xx (Twilio would re-deliver it); only a failed insert (nothing stored) gets a 503.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Optional
from urllib.parse import parse_qs

import sqlalchemy as sa
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sanic import Blueprint, response
from sanic.request import Request, RequestParameters
from sanic.response import HTTPResponse

from connectors.whatsapp import paths
from connectors.whatsapp.chatwoot_webhook import add_chatwoot_route
from connectors.whatsapp.delivery_rules import OUTSIDE_WINDOW, UNDELIVERABLE_CODES
from connectors.whatsapp.inbound import InvalidInbound, parse_inbound_form
from connectors.whatsapp.lifecycle import ChannelNotOpen, ChannelRuntime, register_lifecycle
from connectors.whatsapp.operator_api import register_operator_api
from connectors.whatsapp.paths import status_callback_url
from connectors.whatsapp.signature import public_base_url, signature_valid, signed_url
from rasa_project.health import ALL_CHECKS, collect_health
from rasa_project.metrics import ACK_LATENCY, INBOUND_MESSAGES, OUTBOUND_SENDS

logger = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


def _twiml_ack() -> HTTPResponse:
    return response.text(EMPTY_TWIML, status=200, content_type="text/xml")


def twilio_form(request: Request) -> RequestParameters:
    """The posted form INCLUDING blank fields: Twilio signs `Body=` of a media-only message too, and
    Sanic's `request.form` drops blank values, which would reject every media-only message with 403.
    Bytes that are not UTF-8 (never sent by Twilio) become U+FFFD, as `parse_qs` does for %-escapes, so
    such a request fails the signature check (403) instead of crashing the handler (500)."""
    if "application/x-www-form-urlencoded" in request.content_type and request.body:
        return RequestParameters(parse_qs(request.body.decode("utf-8", errors="replace"), keep_blank_values=True))
    return request.form


def request_public_base(runtime: ChannelRuntime, request: Request) -> str:
    return public_base_url(runtime.settings.webhook_public_url, request.headers, request.scheme)


def verified(runtime: ChannelRuntime, request: Request) -> bool:
    """True when signature checks are off or `X-Twilio-Signature` matches the public URL."""
    settings = runtime.settings
    if not settings.webhook_validate_signature:
        return True
    url = signed_url(request_public_base(runtime, request), request.path, request.query_string)
    ok = signature_valid(settings.twilio_auth_token, url, twilio_form(request),
                         request.headers.get("X-Twilio-Signature"))
    if not ok:
        logger.warning("Rejected %s: missing or wrong X-Twilio-Signature for %s", request.path, url)
    return ok


def _int(value: Optional[str]) -> Optional[int]:
    try:
        return int(value) if value else None
    except ValueError:
        return None


async def after_delivery_error(runtime: ChannelRuntime, request: Request, sid: str,
                               error_code: Optional[int]) -> None:
    """What a failed delivery changes (docs/whatsapp-window.md): an undeliverable code marks the client;
    a 63016 retries the message once as the template it carried (in the background)."""
    if error_code not in UNDELIVERABLE_CODES and error_code != OUTSIDE_WINDOW:
        return
    parts = runtime.opened
    try:
        row = await asyncio.to_thread(parts.outbound.by_sid, sid)
        if row is None:
            return
        if error_code in UNDELIVERABLE_CODES:
            await parts.sender.mark_undeliverable(row.sender_id, int(error_code or 0))
        elif row.template is not None:
            parts.sender.schedule_template_retry(row.id, status_callback_url(request_public_base(runtime, request)))
    except sa.exc.SQLAlchemyError as exc:  # the callback itself is recorded; its follow-up is best effort
        logger.error("Follow-up of %s (ErrorCode %s) failed: %s: %s", sid, error_code, type(exc).__name__, exc)


def build_blueprint(runtime: ChannelRuntime) -> Blueprint:
    bp = Blueprint("whatsapp_webhook", __name__)
    register_lifecycle(bp, runtime)
    if not runtime.is_ingress:  # both write into Rasa's tracker: they need the agent
        add_chatwoot_route(bp, lambda: runtime.helpdesk.webhook if runtime.helpdesk else None, runtime.settings)
        register_operator_api(bp, runtime)
    add_probe_routes(bp, runtime)
    if runtime.is_ingress or runtime.settings.channel_serve_webhook:
        add_twilio_routes(bp, runtime)
    return bp


def add_probe_routes(bp: Blueprint, runtime: ChannelRuntime) -> None:
    """Liveness (`/`), readiness (`/health`) and `/metrics`, in every role."""

    @bp.route(paths.READY, methods=["GET"])
    async def health(_: Request) -> HTTPResponse:
        db_ok, backlog = True, None
        try:
            backlog = await asyncio.to_thread(runtime.opened.inbox.backlog)
        except (sa.exc.SQLAlchemyError, ChannelNotOpen) as exc:
            db_ok = False
            logger.error("Health: conversation-log database unreachable (%s: %s)", type(exc).__name__, exc)
        healthy = db_ok and runtime.serving
        body = {"status": "ok" if healthy else "error", "db_reachable": db_ok, "inbox_backlog": backlog,
                "worker_running": runtime.worker_running}
        if runtime.is_ingress:
            body["role"] = runtime.role
        return response.json(body, status=200 if healthy else 503)

    @bp.route(paths.HEALTH, methods=["GET"])
    async def full_health(request: Request) -> HTTPResponse:
        """Everything a turn needs: model, action server, conversation log, booking API, LLM (an ingress:
        the conversation log, where it stores)."""
        ok, report = await collect_health(runtime.settings, agent=getattr(request.app.ctx, "agent", None),
                                          engine=runtime.parts.engine if runtime.parts else None,
                                          only=("tracker_db",) if runtime.is_ingress else ALL_CHECKS)
        report["role"] = runtime.role
        report["worker_running"] = runtime.worker_running
        ok = ok and runtime.serving
        report["ok"] = ok
        return response.json(report, status=200 if ok else 503)

    @bp.route(paths.METRICS, methods=["GET"])
    async def metrics(_: Request) -> HTTPResponse:
        return response.raw(generate_latest(), content_type=CONTENT_TYPE_LATEST)


def add_twilio_routes(bp: Blueprint, runtime: ChannelRuntime) -> None:
    """What Twilio calls: the webhook (signed → inbox row → empty TwiML at once) and status callbacks."""

    @bp.route(paths.WEBHOOK, methods=["POST"])
    async def webhook(request: Request) -> HTTPResponse:
        started = time.perf_counter()
        if not verified(runtime, request):
            INBOUND_MESSAGES.labels(outcome="forbidden").inc()
            return response.text("invalid signature", status=403)
        try:
            message = parse_inbound_form(twilio_form(request), runtime.settings.max_message_length)
        except InvalidInbound as exc:
            INBOUND_MESSAGES.labels(outcome="invalid").inc()
            logger.warning("Rejected inbound webhook: %s", exc)
            return response.json({"error": str(exc)}, status=400)
        try:
            inbox = runtime.opened.inbox
            row_id = await asyncio.to_thread(inbox.accept, message, request_public_base(runtime, request))
        except sa.exc.SQLAlchemyError as exc:
            INBOUND_MESSAGES.labels(outcome="store_failed").inc()
            logger.error("Inbound %s NOT stored (%s: %s); answering 503 so Twilio retries",
                         message.message_sid, type(exc).__name__, exc)
            return response.text("temporarily unavailable", status=503)
        if row_id is None:
            INBOUND_MESSAGES.labels(outcome="duplicate").inc()
            logger.info("Inbound %s already accepted; acknowledged again", message.message_sid)
        else:
            INBOUND_MESSAGES.labels(outcome="accepted").inc()
            runtime.wake(message.sender_id, row_id)  # this process's worker; other processes hear the NOTIFY
        ACK_LATENCY.observe(time.perf_counter() - started)
        return _twiml_ack()

    @bp.route(paths.STATUS, methods=["POST"])
    async def status(request: Request) -> HTTPResponse:
        if not verified(runtime, request):
            return response.text("invalid signature", status=403)
        form = twilio_form(request)
        sid = (form.get("MessageSid") or form.get("SmsSid") or "").strip()
        state = (form.get("MessageStatus") or form.get("SmsStatus") or "").strip().lower()
        if not sid or not state:
            return response.json({"error": "MessageSid and MessageStatus are required"}, status=400)
        error_code = _int(form.get("ErrorCode"))
        try:
            known = await asyncio.to_thread(runtime.opened.outbound.record_status, sid, state, error_code)
        except sa.exc.SQLAlchemyError as exc:
            logger.error("Status %s for %s NOT recorded (%s: %s)", state, sid, type(exc).__name__, exc)
            return response.text("temporarily unavailable", status=503)
        OUTBOUND_SENDS.labels(status="delivery_failed" if state == "failed" else state).inc()
        if not known:
            logger.info("Status %s for %s recorded before its outbound row knew the SID", state, sid)
        if state in ("failed", "undelivered"):
            logger.warning("Outbound %s %s (ErrorCode %s)", sid, state, error_code)
            await after_delivery_error(runtime, request, sid, error_code)
        return response.empty(status=204)
