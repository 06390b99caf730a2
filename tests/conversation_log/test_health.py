"""collect_health against real local HTTP servers and the real Postgres (never stopping it)."""

from __future__ import annotations

import pytest
from aiohttp import web

from rasa_project.conversation_log.database import create_log_engine
from rasa_project.devtools.local_stack import free_port
from rasa_project.health import action_server_health_url, collect_health
from rasa_project.settings import Settings


class ReadyAgent:
    class processor:
        model_filename = "test.tar.gz"

    def is_ready(self) -> bool:
        return True


@pytest.fixture
async def services():
    """An action-server /health and a booking API /services that checks the bearer token."""
    seen = {}

    async def health(_):
        return web.json_response({"status": "ok"})

    async def services_(request):
        seen["auth"] = request.headers.get("Authorization")
        return web.json_response([]) if seen["auth"] == "Bearer tok" else web.Response(status=401)

    app = web.Application()
    app.router.add_get("/health", health)
    app.router.add_get("/services", services_)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}", seen
    await runner.cleanup()


def test_action_server_health_url():
    assert action_server_health_url("http://127.0.0.1:5055/webhook") == "http://127.0.0.1:5055/health"


async def test_all_green(services, pg_url):
    base, seen = services
    settings = Settings(
        tracker_db_url=pg_url, action_server_url=f"{base}/webhook", booking_api_url=base, booking_api_token="tok"
    )
    engine = create_log_engine(pg_url, settings)
    ok, report = await collect_health(settings, agent=ReadyAgent(), engine=engine)
    engine.dispose()
    assert ok, report
    assert seen["auth"] == "Bearer tok"
    assert report["checks"]["llm"] == {
        **report["checks"]["llm"],
        "ok": True,
        "detail": "template phrasing (no OPENROUTER_API_KEY)",
    }
    assert all(set(c) >= {"ok", "detail", "latency_ms"} for c in report["checks"].values())


async def test_wrong_database_url_is_not_ok(services):
    base, _ = services
    settings = Settings(
        tracker_db_url=f"postgresql+psycopg2://postgres@127.0.0.1:{free_port()}/nothing",
        action_server_url=f"{base}/webhook",
        booking_api_url=base,
        booking_api_token="tok",
    )
    ok, report = await collect_health(settings, agent=ReadyAgent())
    assert not ok
    assert not report["checks"]["tracker_db"]["ok"] and "OperationalError" in report["checks"]["tracker_db"]["detail"]
    assert report["checks"]["action_server"]["ok"] and report["checks"]["booking_api"]["ok"]


async def test_unreachable_llm_is_reported_but_optional(services, pg_url):
    base, _ = services
    settings = Settings(
        tracker_db_url=pg_url,
        action_server_url=f"{base}/webhook",
        booking_api_url=base,
        booking_api_token="tok",
        openrouter_api_key="k",
        openrouter_base_url=f"http://127.0.0.1:{free_port()}/api/v1",
    )
    ok, report = await collect_health(settings, agent=ReadyAgent())
    assert ok and not report["checks"]["llm"]["ok"]


async def test_wrong_token_and_no_agent_are_not_ok(services, pg_url):
    base, _ = services
    settings = Settings(
        tracker_db_url=pg_url, action_server_url=f"{base}/webhook", booking_api_url=base, booking_api_token="bad"
    )
    ok, report = await collect_health(settings)
    assert not ok and not report["checks"]["booking_api"]["ok"] and not report["checks"]["model"]["ok"]
