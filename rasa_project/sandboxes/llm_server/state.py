"""What the LLM stand-in remembers between requests: scripted outputs, faults, latency, requests seen."""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Deque, Dict, List, Union

Output = Union[str, Dict[str, Any]]  # a text, or {"content": ..., "finish_reason": ...}


@dataclass
class Fault:
    """What the next request gets instead of a normal answer: an HTTP status, a delay, or both."""

    status: int | None = None
    delay_ms: float = 0.0

    @classmethod
    def parse(cls, raw: Any) -> Fault:
        if not isinstance(raw, dict) or not ({"status", "delay_ms"} & raw.keys()):
            raise ValueError(f"a fault is an object with `status` and/or `delay_ms`, got {raw!r}")
        status = raw.get("status")
        if status is not None and (not isinstance(status, int) or not 400 <= status <= 599):
            raise ValueError(f"`status` must be an HTTP error code (400-599), got {status!r}")
        delay = raw.get("delay_ms", 0)
        if not isinstance(delay, (int, float)) or delay < 0:
            raise ValueError(f"`delay_ms` must be a non-negative number, got {delay!r}")
        return cls(status=status, delay_ms=float(delay))


@dataclass
class SandboxState:
    default_latency_ms: float = 0.0
    latency_ms: float = 0.0
    outputs: Deque[Output] = field(default_factory=deque)
    faults: Deque[Fault] = field(default_factory=deque)
    requests: List[Dict[str, Any]] = field(default_factory=list)
    completions: int = 0
    stopping: asyncio.Event | None = None

    def reset(self) -> None:
        self.latency_ms = self.default_latency_ms
        self.outputs.clear()
        self.faults.clear()
        self.requests.clear()

    async def sleep(self, seconds: float) -> None:
        """Wait like a slow model, but stop at once when the server shuts down (tests end quickly)."""
        if seconds <= 0:
            return
        if self.stopping is None:
            await asyncio.sleep(seconds)
            return
        try:
            await asyncio.wait_for(self.stopping.wait(), timeout=seconds)
        except asyncio.TimeoutError:
            pass
