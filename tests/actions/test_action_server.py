"""`python -m actions` as a real process: the shared token, loopback binding, health and metrics."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Iterator

import httpx
import pytest

from rasa_project.devtools.local_stack import free_port
from rasa_project.settings import PROJECT_ROOT

TOKEN = "s3cret-action-token"


@pytest.fixture(scope="module")
def action_server() -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "ACTION_SERVER_TOKEN": TOKEN, "ACTION_SERVER_PORT": str(port)}
    process = subprocess.Popen([sys.executable, "-m", "actions"], cwd=PROJECT_ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        else:
            raise RuntimeError("action server did not start")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


CALL = {"next_action": "action_ayuda", "sender_id": "+5215512345678", "version": "3.6.2",
        "tracker": {"sender_id": "+5215512345678", "slots": {}, "latest_message": {"text": "ayuda", "intent":
                    {"name": "ayuda"}}, "events": [], "paused": False, "followup_action": None,
                    "active_loop": {}, "latest_action_name": "action_listen"},
        "domain": {"responses": {"utter_ayuda": [{"text": "Menú:", "buttons": [{"title": "A", "payload": "/a"}]}]}}}


def test_calls_without_the_token_are_refused(action_server: str) -> None:
    assert httpx.post(f"{action_server}/webhook", json=CALL).status_code == 401
    assert httpx.post(f"{action_server}/webhook?token=wrong", json=CALL).status_code == 401
    assert httpx.get(f"{action_server}/actions").status_code == 401


def test_calls_with_the_token_run_the_action(action_server: str) -> None:
    by_query = httpx.post(f"{action_server}/webhook", params={"token": TOKEN}, json=CALL, timeout=30)
    assert by_query.status_code == 200, by_query.text
    assert by_query.json()["responses"][0]["text"] == "Menú:"
    by_header = httpx.post(f"{action_server}/webhook", json=CALL, headers={"Authorization": f"Bearer {TOKEN}"},
                           timeout=30)
    assert by_header.status_code == 200


def test_health_is_open_and_metrics_are_served(action_server: str) -> None:
    assert httpx.get(f"{action_server}/health").json() == {"status": "ok"}
    metrics = httpx.get(f"{action_server}/metrics", params={"token": TOKEN}).text
    assert "llm_phrasing_calls_total" in metrics


def test_binds_to_loopback_only(action_server: str) -> None:
    port = int(action_server.rsplit(":", 1)[1])
    listening = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True, check=True).stdout
    local = [line.split()[3] for line in listening.splitlines() if line.split()[3].endswith(f":{port}")]
    assert local == [f"127.0.0.1:{port}"]
