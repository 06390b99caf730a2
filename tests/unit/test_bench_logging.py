"""The growth bench quiets Rasa's logging in `python -m bench`'s own process only: the processes later
benches start must not inherit `LOG_LEVEL=WARNING` (the start-up bench stamps Rasa's INFO lines)."""

from __future__ import annotations

import os

import pytest

from bench.bench_tracker_growth import quiet_rasa_logging


@pytest.mark.parametrize("before", [None, "DEBUG"])
def test_the_environment_keeps_its_log_level(monkeypatch: pytest.MonkeyPatch, before: str | None) -> None:
    if before is None:
        monkeypatch.delenv("LOG_LEVEL", raising=False)
    else:
        monkeypatch.setenv("LOG_LEVEL", before)
    quiet_rasa_logging()
    assert os.environ.get("LOG_LEVEL") == before
