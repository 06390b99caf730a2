"""`freeze_startup_heap`: what a process holds after start-up leaves Python's full collections, once.

Run in a fresh interpreter each: freezing is for the whole process (and cannot be undone for objects
already frozen), so the test process itself is left alone."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any, Dict

from rasa_project.settings import PROJECT_ROOT

SCRIPT = """
import gc, json, sys
from rasa_project.gc_freeze import freeze_startup_heap
enabled = sys.argv[1] == "on"
cycle = []
cycle.append(cycle)  # start-up garbage: collected before the freeze, never frozen
del cycle
kept = [[n] for n in range(10000)]  # start-up's data (lists: always tracked), alive for good
first = freeze_startup_heap("test", enabled)
after_first = gc.get_freeze_count()
second = freeze_startup_heap("test", enabled)
young = [[n] for n in range(100)]
gc.collect()
print(json.dumps({"first": first, "after_first": after_first, "second": second,
                  "frozen_now": gc.get_freeze_count(), "kept": len(kept), "young": len(young)}))
"""


def run(mode: str) -> Dict[str, Any]:
    out = subprocess.run([sys.executable, "-c", SCRIPT, mode], cwd=PROJECT_ROOT, capture_output=True, text=True,
                         check=True, timeout=60)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_startup_heap_is_frozen_once() -> None:
    result = run("on")
    assert result["first"] > 10000  # the kept lists at least
    assert result["first"] == result["after_first"]
    assert result["second"] == 0  # a second app start-up in the same process freezes nothing more
    assert result["frozen_now"] == result["after_first"]  # what came later is collected as usual


def test_it_can_be_turned_off() -> None:
    result = run("off")
    assert result["first"] == 0 and result["after_first"] == 0 and result["frozen_now"] == 0
