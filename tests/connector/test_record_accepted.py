"""`OutboundStore.record_accepted` when Twilio's status callbacks beat the send call's answer: the row keeps
the furthest callback already seen (the latest of equals, its error code with it), else takes the accepted
status. The same table on SQLite (the portable expression) and Postgres (one text statement)."""

from __future__ import annotations

from typing import List, Optional, Tuple

import pytest
import sqlalchemy as sa

from connectors.whatsapp.outbound_store import OutboundStore
from rasa_project.conversation_log.database import create_log_engine
from rasa_project.conversation_log.migrations import migrate
from rasa_project.devtools.throwaway_db import throwaway_database
from rasa_project.settings import Settings

Seen = List[Tuple[str, Optional[int]]]
CASES: List[Tuple[Seen, str, Tuple[str, Optional[int]]]] = [
    ([], "queued", ("queued", None)),
    ([], "accepted", ("accepted", None)),
    ([("sent", None)], "queued", ("sent", None)),
    ([("sent", None), ("delivered", None)], "queued", ("delivered", None)),
    ([("delivered", None), ("sent", None)], "queued", ("delivered", None)),  # out of order: furthest wins
    ([("queued", None)], "queued", ("queued", None)),
    ([("failed", 63016)], "queued", ("failed", 63016)),
    ([("sent", None), ("undelivered", 30008)], "accepted", ("undelivered", 30008)),
    ([("failed", 30003), ("undelivered", 30008)], "queued", ("undelivered", 30008)),  # equals: the latest
    ([("read", None), ("delivered", None)], "queued", ("read", None)),
    ([("weird-new-status", None)], "queued", ("queued", None)),  # an unknown status ranks 0, below queued
]


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path):
    if request.param == "sqlite":
        url_context = None
        url = f"sqlite:///{tmp_path / 'log.db'}"
    else:
        url_context = throwaway_database("t_accepted")
        url = url_context.__enter__()
    engine = create_log_engine(url, Settings(tracker_db_url=url))
    migrate(engine)
    try:
        yield OutboundStore(engine), engine
    finally:
        engine.dispose()
        if url_context is not None:
            url_context.__exit__(None, None, None)


def test_the_furthest_callback_seen_before_the_sid_is_kept(store) -> None:
    outbound, engine = store
    for number, (seen, accepted, expected) in enumerate(CASES):
        sid = f"SM{number:032d}"
        row = outbound.create("+5215500000001", None, "bot", "hola", None)
        for status, code in seen:
            assert outbound.record_status(sid, status, code) is False  # no row has the SID yet
        outbound.record_accepted(row, sid, accepted, 2)
        with engine.connect() as conn:
            got = conn.execute(sa.text("SELECT status, error_code, twilio_sid, attempts, error_message "
                                       "FROM whatsapp_outbound WHERE id = :id"), {"id": row}).one()
        assert (got[0], got[1]) == expected, f"case {number}: {seen} then {accepted}"
        assert (got[2], got[3], got[4]) == (sid, 2, None)
