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
from typing import Optional, Sequence

from rasa_project.settings import PROJECT_ROOT


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rasa_project nlu-check", description=__doc__)
    parser.add_argument("--nlu", default="tests/nlu", help="a file or a folder of held-out NLU data")
    parser.add_argument("--model", default=None)
    parser.add_argument("--out", default="results/heldout")
    parser.add_argument("--min-accuracy", type=float, default=0.95)
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
    if accuracy < args.min_accuracy:
        print(f"FAILED: accuracy {accuracy:.4f} < {args.min_accuracy}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
