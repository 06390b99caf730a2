"""The sandbox's own "now": real UTC time plus an offset a test can move (`/_sandbox/clock`).

Every time the sandbox reads (message dates, the WhatsApp 24-hour window, Content dates) comes from one
`SandboxClock`, so moving it 25 hours ahead closes every customer-service window at once and stamps
later messages with the moved date. Setting an absolute `now` stores the difference as the offset, so
the clock keeps ticking from there.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any, Dict

ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"  # what Twilio's JSON APIs (Content, ...) send and twilio-python parses


def parse_iso(raw: Any) -> datetime:
    """An ISO 8601 datetime (`Z`, an offset, or naive meaning UTC); ValueError if it is not one."""
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError(f"expected an ISO 8601 datetime string, got {raw!r}")
    value = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def iso(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime(ISO_FORMAT)


class SandboxClock:
    """Real time shifted by `offset`; `reset()` goes back to real time."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + self.offset

    def set_offset(self, seconds: float) -> None:
        self.offset = timedelta(seconds=seconds)

    def set_now(self, when: datetime) -> None:
        self.offset = when - datetime.now(timezone.utc)

    def reset(self) -> None:
        self.offset = timedelta(0)

    def rfc2822(self) -> str:
        """Twilio's Messages date format, e.g. `Tue, 26 Nov 2024 01:18:00 +0000`."""
        return format_datetime(self.now().replace(microsecond=0))

    def iso(self) -> str:
        return iso(self.now())

    def describe(self) -> Dict[str, Any]:
        return {"now": self.iso(), "offset_seconds": round(self.offset.total_seconds(), 3)}
