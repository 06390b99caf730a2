"""`python -m rasa_project nlu-check --nlu FILE --min-accuracy 0.95`: intent accuracy on held-out data.

Runs `rasa test nlu` on messages the model never saw, writes Rasa's reports under results/, prints
the accuracy and the worst intents, and fails below the threshold. This is the number to watch
when editing data/nlu.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Optional, Sequence, Tuple

from rasa_project.settings import PROJECT_ROOT

OUT_OF_SCOPE = "fuera_de_alcance"


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rasa_project nlu-check", description=__doc__)
    parser.add_argument("--nlu", default="tests/nlu", help="a file or a folder of held-out NLU data")
    parser.add_argument("--model", default=None)
    parser.add_argument("--out", default="results/heldout")
    parser.add_argument("--min-accuracy", type=float, default=0.95)
    parser.add_argument("--max-oos-accepts", type=float, default=None,
                        help="fail when more than this share of out-of-scope messages is taken as an intent")
    args = parser.parse_args(argv)
    rasa = str(Path(sys.executable).with_name("rasa"))
    command = [rasa, "test", "nlu", "--nlu", args.nlu, "--out", args.out]
    if args.model:
        command += ["--model", args.model]
    subprocess.run(command, cwd=PROJECT_ROOT, check=True, stdout=subprocess.DEVNULL)
    report = json.loads((PROJECT_ROOT / args.out / "intent_report.json").read_text())
    accuracy = report["accuracy"]
    per_intent = {k: v for k, v in report.items() if isinstance(v, dict) and "f1-score" in v and k not in
                  {"macro avg", "weighted avg", "micro avg"}}
    worst = sorted(per_intent.items(), key=lambda kv: kv[1]["f1-score"])[:5]
    print(f"held-out intent accuracy: {accuracy:.4f} on {int(report['weighted avg']['support'])} messages")
    for name, scores in worst:
        print(f"  {name:22s} f1={scores['f1-score']:.3f} support={scores['support']}")
    accepted, out_of_scope = oos_false_accepts(PROJECT_ROOT / args.out, report)
    share = accepted / out_of_scope if out_of_scope else 0.0
    print(f"out-of-scope false accepts: {share:.4f} ({accepted} of {out_of_scope} taken as an intent)")
    failed = False
    if accuracy < args.min_accuracy:
        print(f"FAILED: accuracy {accuracy:.4f} < {args.min_accuracy}", file=sys.stderr)
        failed = True
    if args.max_oos_accepts is not None and share > args.max_oos_accepts:
        print(f"FAILED: out-of-scope false accepts {share:.4f} > {args.max_oos_accepts}", file=sys.stderr)
        failed = True
    return 1 if failed else 0


def oos_false_accepts(results: Path, report: dict) -> Tuple[int, int]:
    """(out-of-scope messages taken as an in-scope intent, out-of-scope messages): "no entendí" (nlu_fallback)
    is the right answer for them too, so only a real intent counts against."""
    support = int((report.get(OUT_OF_SCOPE) or {}).get("support") or 0)
    errors_path = results / "intent_errors.json"
    errors = json.loads(errors_path.read_text()) if errors_path.exists() else []
    accepted = sum(1 for e in errors if e["intent"] == OUT_OF_SCOPE
                   and (e.get("intent_prediction") or {}).get("name") not in (OUT_OF_SCOPE, "nlu_fallback"))
    return accepted, support


if __name__ == "__main__":
    sys.exit(main())
