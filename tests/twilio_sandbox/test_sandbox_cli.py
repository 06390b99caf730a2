"""`python -m rasa_project.sandboxes.twilio_api` serves the sandbox on the given port."""

from __future__ import annotations

import asyncio
import sys

import httpx

from rasa_project.devtools.local_stack import free_port
from rasa_project.settings import PROJECT_ROOT


async def test_module_entry_point_serves(settings) -> None:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "rasa_project.sandboxes.twilio_api", "--host", "127.0.0.1", "--port", str(port),
        cwd=str(PROJECT_ROOT), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with httpx.AsyncClient() as http:
            for _ in range(100):
                try:
                    stats = await http.get(f"http://127.0.0.1:{port}/_sandbox/stats")
                    break
                except httpx.ConnectError:
                    await asyncio.sleep(0.1)
            else:
                raise AssertionError("sandbox did not start")
            created = await http.post(
                f"http://127.0.0.1:{port}/2010-04-01/Accounts/{settings.twilio_account_sid}/Messages.json",
                data={"To": "whatsapp:+5215512345678", "From": settings.twilio_sender, "Body": "hola"},
                auth=(settings.twilio_account_sid, settings.twilio_auth_token),
            )
        assert stats.json()["create_attempts"] == 0
        assert created.status_code == 201 and created.json()["status"] == "queued"
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), timeout=10)


async def test_module_flags_turn_the_window_on_and_unknown_content_in(settings) -> None:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "rasa_project.sandboxes.twilio_api", "--port", str(port), "--window",
        "--allow-unknown-content", cwd=str(PROJECT_ROOT),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as http:
            for _ in range(100):
                try:
                    window = (await http.get(f"{base}/_sandbox/window")).json()
                    break
                except httpx.ConnectError:
                    await asyncio.sleep(0.1)
            else:
                raise AssertionError("sandbox did not start")
            created = await http.post(
                f"{base}/2010-04-01/Accounts/{settings.twilio_account_sid}/Messages.json",
                data={"To": "whatsapp:+5215512345678", "From": settings.twilio_sender, "ContentSid": "HX" + "c" * 32},
                auth=(settings.twilio_account_sid, settings.twilio_auth_token),
            )
        assert window["enforce"] is True
        assert created.status_code == 201, created.text  # an HX SID never created here, accepted
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), timeout=10)
