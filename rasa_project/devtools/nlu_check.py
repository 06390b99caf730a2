"""`python -m rasa_project nlu-check --nlu DIR --min-accuracy 0.95 --max-oos-accepts 0.05`: held-out NLU figures.

Parses every held-out message with the trained model exactly as the running assistant does, the
FallbackClassifier included: a message below its threshold is `nlu_fallback` ("no entendí" with the
menu). That is the right answer for an out-of-scope message and a wrong one for an in-scope message.
(`rasa test nlu` undoes fallback predictions before scoring, so its accuracy and out-of-scope figures
describe a model without the fallback; `make nlu-report` still writes Rasa's own reports.)

Prints intent accuracy, the weakest intents, the share of out-of-scope messages taken as an intent,
and how often the ResponseSelector picked the right frequent-question topic; writes every miss to
`<out>/heldout_errors.json`; fails below the thresholds. This is the number to watch when editing
data/nlu (and never train on the held-out messages).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from rasa_project.settings import PROJECT_ROOT

OUT_OF_SCOPE = "fuera_de_alcance"
FALLBACK = "nlu_fallback"
RETRIEVAL_INTENT = "faq"


@dataclass(frozen=True)
class Verdict:
    text: str
    intent: str  # the label: an intent, or "faq/<topic>"
    predicted: str  # what the assistant would act on: an intent, "faq/<topic>", or nlu_fallback
    confidence: float

    @property
    def base(self) -> str:
        return self.intent.split("/", 1)[0]

    @property
    def predicted_base(self) -> str:
        return self.predicted.split("/", 1)[0]

    @property
    def right(self) -> bool:
        """The intent is right, and "no entendí" is right for an out-of-scope message."""
        if self.intent == OUT_OF_SCOPE:
            return self.predicted in (OUT_OF_SCOPE, FALLBACK)
        return self.predicted_base == self.base

    @property
    def accepted_out_of_scope(self) -> bool:
        return self.intent == OUT_OF_SCOPE and self.predicted not in (OUT_OF_SCOPE, FALLBACK)


@dataclass(frozen=True)
class Figures:
    verdicts: List[Verdict]

    @property
    def accuracy(self) -> float:
        return sum(v.right for v in self.verdicts) / len(self.verdicts) if self.verdicts else 0.0

    @property
    def out_of_scope(self) -> Tuple[int, int]:
        """(out-of-scope messages taken as an intent, out-of-scope messages)."""
        scoped = [v for v in self.verdicts if v.intent == OUT_OF_SCOPE]
        return sum(v.accepted_out_of_scope for v in scoped), len(scoped)

    @property
    def in_scope_fallbacks(self) -> int:
        return sum(1 for v in self.verdicts if v.intent != OUT_OF_SCOPE and v.predicted == FALLBACK)

    @property
    def topics(self) -> Tuple[int, int]:
        """(faq messages answered with the right topic, faq messages taken as faq)."""
        asked = [v for v in self.verdicts if v.base == RETRIEVAL_INTENT and v.predicted_base == RETRIEVAL_INTENT]
        return sum(v.predicted == v.intent for v in asked), len(asked)

    def f1_by_intent(self) -> Dict[str, Tuple[float, int]]:
        """Per label intent (faq topics folded into `faq`): (F1, support)."""
        labels = {v.base for v in self.verdicts}
        scores = {}
        for label in labels:
            tp = sum(1 for v in self.verdicts if v.base == label and v.right)
            fp = sum(1 for v in self.verdicts if v.base != label and v.predicted_base == label)
            support = sum(1 for v in self.verdicts if v.base == label)
            fn = support - tp
            f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
            scores[label] = (f1, support)
        return scores


def predicted_label(result: Dict[str, Any]) -> Tuple[str, float]:
    """What the assistant acts on for one parse result: the intent (with the faq topic), or nlu_fallback."""
    intent = result.get("intent") or {}
    name = str(intent.get("name") or FALLBACK)
    confidence = float(intent.get("confidence") or 0.0)
    if name == RETRIEVAL_INTENT:
        selected = ((result.get("response_selector") or {}).get(RETRIEVAL_INTENT) or {}).get("response") or {}
        key = selected.get("intent_response_key")
        if key:
            name = str(key)
    return name, confidence


def load_examples(nlu: Path) -> List[Tuple[str, str]]:
    """(text, label) of every held-out message; faq messages are labelled with their topic."""
    from rasa.shared.nlu.training_data.loading import load_data
    from rasa.shared.nlu.training_data.training_data import TrainingData

    files = sorted(nlu.glob("*.yml")) if nlu.is_dir() else [nlu]
    data = TrainingData().merge(*[load_data(str(path)) for path in files])
    return [(str(e.get("text")), str(e.get("intent_response_key") or e.get("intent"))) for e in data.intent_examples]


def evaluate(model: Path, examples: List[Tuple[str, str]]) -> Figures:
    import logging

    from rasa.core.agent import Agent
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    from rasa_project.fast_load import apply

    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)  # one debug line per parsed message otherwise
    apply()  # the serving load: what the assistant runs (tests/model/test_fast_load.py: same predictions)
    agent = Agent.load(str(model))

    async def parse_all() -> List[Verdict]:
        verdicts = []
        for text, label in examples:
            predicted, confidence = predicted_label(await agent.parse_message(text))
            verdicts.append(Verdict(text, label, predicted, confidence))
        return verdicts

    return Figures(asyncio.run(parse_all()))


def latest_model() -> Path:
    from rasa_project.devtools.model_cache import ensure_model

    return ensure_model()


def report(figures: Figures, out: Path) -> None:
    accepted, out_of_scope = figures.out_of_scope
    share = accepted / out_of_scope if out_of_scope else 0.0
    right_topics, faq_taken = figures.topics
    print(f"held-out intent accuracy: {figures.accuracy:.4f} on {len(figures.verdicts)} messages "
          f"(fallback kept; {figures.in_scope_fallbacks} in-scope messages got 'no entendí')")
    for name, (f1, support) in sorted(figures.f1_by_intent().items(), key=lambda kv: kv[1][0])[:5]:
        print(f"  {name:22s} f1={f1:.3f} support={support}")
    print(f"out-of-scope false accepts: {share:.4f} ({accepted} of {out_of_scope} taken as an intent)")
    if faq_taken:
        print(f"frequent-question topic right: {right_topics / faq_taken:.4f} ({right_topics} of {faq_taken})")
    confusions = Counter((v.base, v.predicted_base) for v in figures.verdicts if not v.right)
    print("most frequent confusions (label → prediction): "
          + ", ".join(f"{a}→{b} {n}" for (a, b), n in confusions.most_common(6)))
    out.mkdir(parents=True, exist_ok=True)
    misses = [asdict(v) for v in figures.verdicts if not v.right or v.predicted != v.intent]
    (out / "heldout_errors.json").write_text(json.dumps(misses, ensure_ascii=False, indent=1), encoding="utf-8")


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rasa_project nlu-check", description=__doc__.splitlines()[0])
    parser.add_argument("--nlu", default="tests/nlu/heldout", help="a file or a folder of held-out NLU data")
    parser.add_argument("--model", default=None, help="default: the model of the current data (trained if missing)")
    parser.add_argument("--out", default="results/heldout")
    parser.add_argument("--min-accuracy", type=float, default=0.95)
    parser.add_argument("--max-oos-accepts", type=float, default=None,
                        help="fail when more than this share of out-of-scope messages is taken as an intent")
    args = parser.parse_args(argv)
    model = Path(args.model) if args.model else latest_model()
    figures = evaluate(model, load_examples(PROJECT_ROOT / args.nlu))
    report(figures, PROJECT_ROOT / args.out)
    accepted, out_of_scope = figures.out_of_scope
    share = accepted / out_of_scope if out_of_scope else 0.0
    failed = False
    if figures.accuracy < args.min_accuracy:
        print(f"FAILED: accuracy {figures.accuracy:.4f} < {args.min_accuracy}", file=sys.stderr)
        failed = True
    if args.max_oos_accepts is not None and share > args.max_oos_accepts:
        print(f"FAILED: out-of-scope false accepts {share:.4f} > {args.max_oos_accepts}", file=sys.stderr)
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
