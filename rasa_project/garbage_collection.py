"""Python's cycle collector in our long-running processes: its pauses timed, start-up's heap frozen out of it.

A full (generation 2) collection walks every container object the process holds, and the event loop waits
for it. In the Rasa process that is mostly the loaded model, Rasa, TensorFlow and everything imported, none
of which ever becomes garbage: about 780,000 objects, and in a channel bench run its full collections during
the load took 330 and 400 ms each (a turn, and in the single-process layout a webhook's ack, waited them
out); the action server's took 130 ms (bench/README.md).

`gc.freeze()` (CPython 3.7+) moves every object alive at that moment into a permanent generation that
collections never walk, so a collection looks only at what the process allocated since: the same run's
full collections then took 6 ms. `after_startup` does it once per process, after a `gc.collect()` so that
start-up's own garbage is freed, not frozen. The cycle collector never frees a frozen object: what start-up
built and later drops (an agent replaced through Rasa's model API) is still freed by reference counting,
except for its parts in reference cycles, which stay in memory; `GC_FREEZE_AFTER_START=false` keeps
CPython's default. Either way every collection is timed into `assistant_gc_pause_seconds` by
generation, so a pause is seen on the dashboard, not guessed at from a latency spike.
"""

from __future__ import annotations

import gc
import logging
import time
from typing import Any, Dict

from rasa_project.metrics import GC_PAUSES

logger = logging.getLogger(__name__)

_done = False
_started = [0.0]
_pauses = {generation: GC_PAUSES.labels(generation=str(generation)) for generation in (0, 1, 2)}


def _time_collection(phase: str, info: Dict[str, Any]) -> None:
    """A `gc.callbacks` hook: collections never nest (they hold the GIL), so one start time is enough."""
    if phase == "start":
        _started[0] = time.perf_counter()
    elif info.get("generation") in _pauses:
        _pauses[info["generation"]].observe(time.perf_counter() - _started[0])


def after_startup(process: str, freeze: bool = True) -> int:
    """Once per process (a test process starts many apps: only the first counts): time every collection
    from now on, then collect and freeze what is alive. Returns how many objects collections no longer walk
    (0 when `freeze` is off or it was done already); `process` only names the process in the log line."""
    global _done
    if _done:
        return 0
    _done = True
    gc.callbacks.append(_time_collection)
    if not freeze:
        logger.info("%s: GC_FREEZE_AFTER_START is off; full collections walk the whole heap", process)
        return 0
    started = time.perf_counter()
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    logger.info("%s: %d objects alive after start-up frozen out of garbage collection (%.0f ms)", process,
                frozen, (time.perf_counter() - started) * 1000)
    return frozen
