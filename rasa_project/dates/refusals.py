"""Days and hours the client turns down: "mañana no", "no puedo el viernes", "a las 7 no me sirve".

A refused day is the opposite of a request: reading "mañana no, pasado mañana sí" as tomorrow would
book the one day the client ruled out. A refused finding becomes "another one, please" (`other_day`
/ `other_time`), so the other days and hours of the message decide, and if none is left the
client is asked. A "no" that corrects the bot ("no, el viernes") is not a refusal, and a refusal
does not reach past a comma ("hoy no puedo, mañana sí").
"""

from __future__ import annotations

from dataclasses import replace
from typing import List, Sequence

from rasa_project.dates.findings import DayFinding, Finding
from rasa_project.dates.tokens import Token, word_at

__all__ = ["mark_refusals"]

_REFUSING_WORDS = frozenset(
    "puedo podemos puede pueden podria podriamos podre voy vamos sirve queda quedan llego llegamos alcanzo "
    "estoy estamos".split()
)
_LOOK_BACK = 4  # "no me va a quedar bien el viernes" is about as far as a refusal reaches


def mark_refusals(tokens: Sequence[Token], findings: Sequence[Finding]) -> List[Finding]:
    """`findings` with every refused day turned into an `other_day` and every refused hour into an
    `other_time` finding."""
    marked: List[Finding] = []
    previous_end = 0
    for finding in findings:
        if _is_refused(tokens, finding, previous_end):
            marked.append(_refused(finding))
        else:
            marked.append(finding)
        previous_end = finding.end
    return marked


def _is_refused(tokens: Sequence[Token], finding: Finding, previous_end: int) -> bool:
    after = tokens[finding.end] if finding.end < len(tokens) else None
    if after is not None and word_at(tokens, finding.end) == "no" and not after.pause_before:
        return word_at(tokens, finding.end + 1) not in ("se", "sabe", "hay")  # "mañana no", "el viernes no puedo"
    start = max(previous_end, finding.start - _LOOK_BACK)
    pauses = [k for k in range(start + 1, finding.start + 1) if tokens[k].pause_before]
    before = [word_at(tokens, k) for k in range(pauses[-1] if pauses else start, finding.start)]
    if "no" not in before:
        return False
    return any(word in _REFUSING_WORDS for word in before[before.index("no") :])


def _refused(finding: Finding) -> Finding:
    if isinstance(finding, DayFinding):
        return DayFinding(finding.start, finding.end, other_day=True)
    return replace(finding, hour=None, part=None, same_time=False, other_time=True)
