"""The action server as we run it: rasa-sdk's app, plus a shared-token check and /metrics.

rasa-sdk has no authentication (rasa-sdk#56), so when `ACTION_SERVER_TOKEN` is set every request
but `/health` must carry it, the way Rasa sends it from `endpoints.yml`'s `token:` (a `token` query
parameter) or as `Authorization: Bearer`. Binds to 127.0.0.1 unless `ACTION_SERVER_HOST` says otherwise.
"""

from __future__ import annotations

import hmac
import logging

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from rasa_sdk.endpoint import create_app
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from actions.services import close_shared_services, shared_services
from rasa_project import stack_dump
from rasa_project.garbage_collection import after_startup
from rasa_project.settings import Settings

logger = logging.getLogger(__name__)

OPEN_PATHS = {"/health"}


def presented_token(request: Request) -> str:
    auth = request.headers.get("Authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.args.get("token", "")


def build_app(settings: Settings, app_name: str | None = None) -> Sanic:
    app = create_app("actions")
    if app_name:
        app.name = app_name
    token = settings.action_server_token

    if token:
        @app.middleware("request")
        async def require_token(request: Request) -> HTTPResponse | None:
            if request.path in OPEN_PATHS:
                return None
            if not hmac.compare_digest(presented_token(request), token):
                return response.json({"error": "invalid or missing action server token"}, status=401)
            return None
    else:
        logger.warning("ACTION_SERVER_TOKEN is not set: the action server accepts calls without a token")

    @app.get("/metrics")
    async def metrics(_: Request) -> HTTPResponse:
        return response.raw(generate_latest(), content_type=CONTENT_TYPE_LATEST)

    @app.before_server_start
    async def open_clients(*_: object) -> None:
        # Built here, not on the first action call: the LLM client's first use imports openai's
        # resource modules (~1.5 s, blocking), which would otherwise stall the first client's turn.
        shared_services()
        stack_dump.install()  # kill -USR1 <pid>: where every running action waits

    @app.after_server_start
    async def freeze_heap(*_: object) -> None:
        after_startup("actions", settings.gc_freeze_after_start)

    @app.after_server_stop
    async def close_clients(*_: object) -> None:
        await close_shared_services()

    return app


def serve(settings: Settings, host: str | None = None, port: int | None = None) -> None:
    app = build_app(settings)
    host = host or settings.action_server_host
    port = port or settings.action_server_port
    logger.info("Action server on http://%s:%s", host, port)
    app.run(host=host, port=port, workers=1, access_log=False)
