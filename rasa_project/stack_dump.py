"""Where a running process is, on demand: `kill -USR1 <pid>` logs every asyncio task's await chain and
every thread's stack (WARNING, logger `rasa_project.stack_dump`); `kill -USR2 <pid>` has `faulthandler`
write every thread's stack to stderr even when the event loop itself is stuck.

A turn that never ends waits in a coroutine (an HTTP call, a lock, a thread of `asyncio.to_thread`):
py-spy and faulthandler show threads, not what each task awaits. Installed by the WhatsApp channel at
start-up in the Rasa and ingress processes (docs/deployment.md, "A process that seems stuck").
"""

from __future__ import annotations

import asyncio
import faulthandler
import logging
import signal
import sys
import threading
import traceback
from types import FrameType
from typing import Any, Iterator, List, Optional

logger = logging.getLogger(__name__)

MARK = "Stack dump (SIGUSR1)"


def _await_chain(coro: Any) -> Iterator[FrameType]:
    """The frames of a suspended coroutine and of everything it awaits, outermost first."""
    seen = 0
    while coro is not None and seen < 100:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is not None:
            yield frame
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
        seen += 1


def _where(frame: FrameType) -> str:
    return f"    {frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}"


def dump(loop: Optional[asyncio.AbstractEventLoop] = None) -> str:
    """Every task of `loop` (name, then its await chain) and every thread's stack, as text."""
    lines: List[str] = []
    tasks = asyncio.all_tasks(loop) if loop is not None else set()
    lines.append(f"{len(tasks)} asyncio tasks:")
    for task in sorted(tasks, key=lambda t: t.get_name()):
        lines.append(f"  task {task.get_name()}:")
        lines.extend(_where(frame) for frame in _await_chain(task.get_coro()))
    names = {thread.ident: thread.name for thread in threading.enumerate()}
    frames = sys._current_frames()
    lines.append(f"{len(frames)} threads:")
    for ident, frame in frames.items():
        lines.append(f"  thread {names.get(ident, ident)}:")
        lines.extend("    " + entry.strip().replace("\n", " | ") for entry in traceback.format_stack(frame)[-8:])
    return "\n".join(lines)


def install(loop: Optional[asyncio.AbstractEventLoop] = None) -> bool:
    """SIGUSR1 → `dump` logged from the loop; SIGUSR2 → faulthandler. False where signals cannot be set
    (not the main thread, no Unix signals): then nothing is installed."""
    loop = loop or asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGUSR1, lambda: logger.warning("%s:\n%s", MARK, dump(loop)))
        faulthandler.register(signal.SIGUSR2, all_threads=True)
    except (NotImplementedError, RuntimeError, ValueError, AttributeError):
        return False
    return True
