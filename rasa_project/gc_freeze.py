"""Python's cycle collector, told that what a process built while starting is there for good.

A full (generation 2) collection walks every container object the process holds. In the Rasa process
that is mostly the loaded model, Rasa, TensorFlow and the rest of what was imported, none of which ever
becomes garbage: in a channel bench run (bench/README.md) its 11 full collections took 1.9 s of CPU,
175 ms each, every one a pause of the event loop that a turn (and, in the single-process layout, a
webhook's ack) waited out; the ingress's took 64 ms each, longer than its ack target. The action server
paid about 100 ms each.

`gc.freeze()` (CPython 3.7+) moves every object alive at that moment into a permanent generation that
collections never walk, so a collection looks only at what the process allocated since. It runs once,
after start-up (`freeze_startup_heap`), after a `gc.collect()` so that start-up's own garbage is freed,
not frozen. Objects frozen are never collected: what start-up built and later drops (an agent replaced
through Rasa's model API) stays in memory, which is why the setting `GC_FREEZE_AFTER_START` can turn it
off.
"""

from __future__ import annotations

import gc
import logging
import time

logger = logging.getLogger(__name__)


_done = False


def freeze_startup_heap(process: str, enabled: bool = True) -> int:
    """Collect once, then freeze what is alive; returns how many objects the collector no longer walks.
    Once per process (a test process starts many apps; only its first start-up is frozen); 0 when disabled
    or already done. `process` only names the process in the log line."""
    global _done
    if _done:
        return 0
    _done = True
    if not enabled:
        logger.info("%s: GC_FREEZE_AFTER_START is off; full collections walk the whole heap", process)
        return 0
    started = time.perf_counter()
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    logger.info("%s: %d objects alive after start-up frozen out of garbage collection (%.0f ms)", process,
                frozen, (time.perf_counter() - started) * 1000)
    return frozen
