"""The ingress process: Twilio's routes served by a process that never runs a model.

`python -m rasa_project ingress [--host] [--port]` (docs/deployment.md, the production layout). A plain
Sanic app mounts the channel's own blueprint (`routes.build_blueprint`, the same code `rasa run` mounts)
at `/webhooks/whatsapp/` with a runtime in the `ingress` role (`lifecycle.py`): signed webhook → inbox
row in Postgres (with `NOTIFY whatsapp_inbox, '<sender>|<id>'` in the same transaction) → empty TwiML at
once; status callbacks recorded (a 63016 retried as its template); liveness, readiness, metrics. No
Rasa agent is created or loaded here: the Rasa processes' workers, woken by the NOTIFY (or their
poller), run the turns. The operator API and the Chatwoot webhook stay on the Rasa processes.
"""

from __future__ import annotations

import logging
from typing import Any

from sanic import Sanic

from connectors.whatsapp.lifecycle import INGRESS, ChannelRuntime, warn_if_unsigned
from connectors.whatsapp.paths import PREFIX
from connectors.whatsapp.routes import build_blueprint
from rasa_project.settings import Settings

logger = logging.getLogger(__name__)

APP_NAME = "whatsapp_ingress"


async def _never_called(message: Any) -> None:
    """The ingress has no worker, so no turn ever asks for Rasa's `on_new_message`."""
    raise RuntimeError("the ingress process runs no turn; a Rasa process's worker does")


def build_app(settings: Settings, name: str = APP_NAME) -> Sanic:
    """The ingress's Sanic app: the channel's blueprint at `/webhooks/whatsapp/`, nothing else."""
    warn_if_unsigned(settings)
    if not settings.tracker_db_url.startswith("postgresql"):
        logger.warning("The ingress stores into %s: without Postgres no NOTIFY wakes the Rasa processes; "
                       "only their poller (INBOX_POLL_SECONDS) picks messages up", settings.tracker_db_url)
    app = Sanic(name)
    app.config.ACCESS_LOG = False
    runtime = ChannelRuntime(settings, _never_called, role=INGRESS)
    app.ctx.channel_runtime = runtime
    app.blueprint(build_blueprint(runtime), url_prefix=PREFIX)
    return app


def serve(settings: Settings, host: str, port: int) -> int:
    """Serve until SIGINT/SIGTERM (one worker process; run several behind the load balancer)."""
    app = build_app(settings)
    logger.info("WhatsApp ingress on http://%s:%s%s/webhook", host, port, PREFIX)
    app.run(host=host, port=port, workers=1, access_log=False)
    return 0
