"""Mask payment data in every log record of the process, Rasa's own debug lines included.

Rasa logs user messages verbatim (`Received user message '...'`) from many modules; a filter on one
logger would miss the others, so the log-record factory is wrapped once: each record that is
actually emitted gets its formatted message redacted (the level check happens before the factory,
so suppressed debug lines cost nothing).
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_project.conversation_log.redaction import redact

_installed = False


def install_log_redaction() -> None:
    """Idempotently wrap `logging`'s record factory with `redact`."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed format: leave it for logging to report
            return record
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, ()
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
