"""`kill -USR1` on a process logs where each task waits (its whole await chain) and each thread's stack."""

from __future__ import annotations

import asyncio
import logging
import os
import signal

import pytest

from rasa_project import stack_dump


async def waits_for_the_action_server(event: asyncio.Event) -> None:
    await event.wait()


async def a_turn(event: asyncio.Event) -> None:
    await waits_for_the_action_server(event)


async def test_the_dump_shows_each_tasks_await_chain_and_the_threads() -> None:
    event = asyncio.Event()
    task = asyncio.create_task(a_turn(event), name="whatsapp-drain")
    await asyncio.sleep(0)
    text = stack_dump.dump(asyncio.get_running_loop())
    event.set()
    await task
    drain = text.split("task whatsapp-drain:", 1)[1].split("task ", 1)[0]
    assert "in a_turn" in drain and "in waits_for_the_action_server" in drain, drain
    assert "threads:" in text and "thread MainThread:" in text


async def test_sigusr1_logs_the_dump(caplog: pytest.LogCaptureFixture) -> None:
    assert stack_dump.install()
    event = asyncio.Event()
    task = asyncio.create_task(a_turn(event), name="stuck-turn")
    try:
        with caplog.at_level(logging.WARNING, logger="rasa_project.stack_dump"):
            os.kill(os.getpid(), signal.SIGUSR1)
            for _ in range(50):
                await asyncio.sleep(0.02)
                if stack_dump.MARK in caplog.text:
                    break
        assert stack_dump.MARK in caplog.text and "task stuck-turn:" in caplog.text, caplog.text[-500:]
        assert "waits_for_the_action_server" in caplog.text
    finally:
        asyncio.get_running_loop().remove_signal_handler(signal.SIGUSR1)
        event.set()
        await task
