"""`python -m rasa_project validate`: `rasa data validate`, failing on every warning that matters.

Rasa cannot see responses that custom actions render, so it warns that they are "not used in any
story or rule"; tests/unit/test_project_consistency.py checks those properly (every response is used
by a rule, a story, a form or an action). The retrieval intent `faq` is always reported as a duplicate
(see ACCEPTED). Every other warning (conflicting rules or stories, slot mappings, unused intents,
entities...) fails the check.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from rasa_project.settings import PROJECT_ROOT

PAYLOAD_ONLY_INTENTS = ("EXTERNAL_recordatorio", "EXTERNAL_lugar_libre", "confirmar_asistencia", "aceptar_lugar",
                        "rechazar_lugar")
ACCEPTED = re.compile(
    r"The utterance '\w+' is not used in any story or rule\."
    # Rasa adds a retrieval intent to the domain from the NLU data, and its story reader needs it in
    # domain.yml too: listing it there is Rasa's documented way, and always reported as a duplicate.
    r"|The following duplicated intents have been found across multiple domain files: faq$"
    # Intents no client types: the external events the bot triggers itself and the payloads of the
    # options of the messages it sends first (connectors/whatsapp/proactive.py). An NLU example would make
    # them predictable from text, which they must never be.
    rf"|The intent '({'|'.join(PAYLOAD_ONLY_INTENTS)})' is listed in the domain file, but is not found in the NLU"
)
WARNING = re.compile(r"UserWarning: (.*)")


def main() -> int:
    rasa = str(Path(sys.executable).with_name("rasa"))
    result = subprocess.run([rasa, "data", "validate", "--max-history", "4"], cwd=PROJECT_ROOT,
                            capture_output=True, text=True)
    output = result.stdout + result.stderr
    warnings = [m.group(1).strip() for m in WARNING.finditer(output)]
    blocking = [w for w in warnings if not ACCEPTED.search(w)]
    for warning in blocking:
        print(f"warning: {warning}", file=sys.stderr)
    if result.returncode != 0:
        print(output[-4000:], file=sys.stderr)
        print(f"rasa data validate failed (exit {result.returncode})", file=sys.stderr)
        return 1
    if blocking:
        print(f"{len(blocking)} validation warning(s) that matter", file=sys.stderr)
        return 1
    print(f"rasa data validate: ok ({len(warnings)} accepted warnings about action-rendered responses)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
