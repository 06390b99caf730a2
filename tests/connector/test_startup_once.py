"""Start-up does each thing once per process: one engine per database (shared by the tracker store and the
channel), one migration run, one warning about unsigned webhooks."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from connectors.whatsapp import WhatsAppInput
from rasa_project.conversation_log import database
from rasa_project.conversation_log.database import shared_engine
from rasa_project.conversation_log.tracker_store import WindowedSQLTrackerStore
from rasa_project.settings import Settings


async def _noop(_: object) -> None:
    return None


async def test_tracker_store_and_channel_share_one_engine_migrated_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'log.db'}"
    settings = Settings(tracker_db_url=url)
    runs = []
    real_migrate = database.migrate
    monkeypatch.setattr(database, "migrate", lambda engine: runs.append(engine) or real_migrate(engine))
    store = WindowedSQLTrackerStore(settings=settings)
    channel = WhatsAppInput(settings)
    channel.blueprint(_noop)
    assert channel.runtime is not None
    await channel.runtime.open()
    try:
        assert channel.runtime.opened.engine is store.engine is shared_engine(url, settings)
        assert len(runs) == 1
    finally:
        await channel.runtime.close()


async def test_unsigned_webhooks_are_warned_about_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(tracker_db_url=f"sqlite:///{tmp_path / 'log.db'}", webhook_validate_signature=False)
    with caplog.at_level(logging.WARNING):
        channel = WhatsAppInput(settings)
        channel.blueprint(_noop)
        assert channel.runtime is not None
        await channel.runtime.open()
        await channel.runtime.close()
    assert sum("UNSIGNED" in record.getMessage() for record in caplog.records) == 1
