"""The bounded retrieve window: what to keep of a long session and how to restore the state before it.

Rasa featurizes every event of the session on every turn, so a sender's turn at event 2,000 costs
several times one at event 50. A window of the last N events, preceded by synthetic events that set
the slots and the active loop to their values at the window start, gives policies the same recent
states, forms the same loop and slots the same values, at a bounded cost.

Known difference from the full session: `ActionReverted`/`UserUtteranceReverted` or loop-undo that
reach back past the window start cannot remove events that were not loaded (they are long past).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional

from rasa.shared.core.events import (
    ActionExecutionRejected,
    ActiveLoop,
    Event,
    LoopInterrupted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.slots import Slot
from rasa.shared.core.trackers import DialogueStateTracker

TRACKER_ATTRIBUTE = "_conversation_log_window"


@dataclass
class LoadedWindow:
    """What a tracker object holds that is already in the database, attached to the tracker itself.

    `event_ids[i]` is the database id of `tracker.events[i]` (None for the synthetic prefix), so a save
    appends exactly `tracker.events[len(event_ids):]` and can place the next window boundary.
    """

    sender_id: str
    prefix_len: int
    event_ids: List[Optional[int]] = field(default_factory=list)

    @property
    def persisted(self) -> int:
        return len(self.event_ids)


def attach(tracker: DialogueStateTracker, window: LoadedWindow) -> None:
    setattr(tracker, TRACKER_ATTRIBUTE, window)


def attached(tracker: DialogueStateTracker) -> Optional[LoadedWindow]:
    window = getattr(tracker, TRACKER_ATTRIBUTE, None)
    if isinstance(window, LoadedWindow) and window.sender_id == tracker.sender_id:
        return window
    return None


def snapshot_state(tracker: DialogueStateTracker) -> Dict[str, Any]:
    """The slot values and active loop of `tracker`, as JSON-ready data."""
    slots = {
        name: slot.value
        for name, slot in tracker.slots.items()
        if slot.has_been_set or slot.value != slot.initial_value
    }
    loop = dataclasses.asdict(tracker.active_loop) if tracker.active_loop else None
    if loop is not None:
        loop.pop("trigger_message", None)  # a parse result of a message long past: not needed
    return {"slots": slots, "active_loop": loop}


def prefix_events(state: Dict[str, Any], timestamp: Optional[float], known_slots: Iterable[Slot]) -> List[Event]:
    """Synthetic events that bring a fresh tracker to `state` (slots of the current domain only)."""
    names = {slot.name for slot in known_slots}
    events: List[Event] = [
        SlotSet(name, value, timestamp=timestamp) for name, value in (state.get("slots") or {}).items() if name in names
    ]
    loop = state.get("active_loop") or {}
    if loop.get("name"):
        events.append(ActiveLoop(loop["name"], timestamp=timestamp))
        if loop.get("is_interrupted"):
            events.append(LoopInterrupted(True, timestamp=timestamp))
        if loop.get("rejected"):
            events.append(ActionExecutionRejected(loop["name"], timestamp=timestamp))
    return events


def choose_boundary(events: List[Event], first_real: int, window_events: int) -> Optional[int]:
    """Index of the first event of the next window, or None while the loaded part is small.

    The window moves only when more than twice `window_events` events are loaded, so the snapshot
    is rewritten once every `window_events` events. It starts at a user message with no active loop:
    Rasa collapses the turns of a running form in `applied_events`, which must not span the boundary.
    When the last `window_events` events have no such point, the latest earlier one is used.
    """
    if len(events) - first_real <= 2 * window_events:
        return None
    earliest = max(first_real + 1, len(events) - window_events)
    loop_active = False
    best: Optional[int] = None
    for index, event in enumerate(events):
        if isinstance(event, ActiveLoop):
            loop_active = bool(event.name)
        elif isinstance(event, UserUttered) and not loop_active and index > first_real:
            best = index
            if index >= earliest:
                return index
    return best
