"""The answer / suggest / none decision, as a fitted model shipped as data.

Whether the best-ranked entry is the right one cannot be read off one score with a hand-set
threshold: a short plain question and a long colloquial one score very differently when both
are right. The decision is a small logistic model over what the matcher measured (score,
coverage of the question, of its words and of the words the knowledge base knows at all, the IDF
mass covered, the lead over the runner-up). Whether the entry holds the kind of answer asked for
is not the model's business: bot/answering/constraints.py answers such near misses with what the report
does say. Its parameters and cut-offs live in `decision_model.json`, written by
`python -m bot.answering.decision_fit` from the knowledge base's own phrasings and generated near misses,
never from evaluation questions. A change to the decision is a reviewed diff of numbers.
Pure: no Telegram, no database.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from operator import mul, sub, truediv
from pathlib import Path
from typing import Any, Protocol

MODEL_FILE = Path(__file__).with_name("decision_model.json")

FEATURES: tuple[str, ...] = (
    "score",
    "query_coverage",
    "phrase_coverage",
    "known_coverage",
    "word_coverage",
    "log_evidence",
    "lead",
)


class Scored(Protocol):
    """What the model reads of a candidate (bot.answering.matcher.Candidate)."""

    @property
    def score(self) -> float: ...
    @property
    def query_coverage(self) -> float: ...
    @property
    def phrase_coverage(self) -> float: ...
    @property
    def known_coverage(self) -> float: ...
    @property
    def word_coverage(self) -> float: ...
    @property
    def evidence(self) -> float: ...


def features(candidate: Scored, runner_up: Scored | None) -> list[float]:
    """The model's inputs for `candidate`, judged against the next candidate down."""
    return features_against(candidate, runner_up.score if runner_up is not None else 0.0)


def features_against(candidate: Scored, runner_up_score: float) -> list[float]:
    """`features`, of which the runner-up gives only its score (0.0 when there is none)."""
    # In the order of FEATURES.
    return [
        candidate.score,
        candidate.query_coverage,
        candidate.phrase_coverage,
        candidate.known_coverage,
        candidate.word_coverage,
        math.log1p(candidate.evidence),
        candidate.score - runner_up_score,
    ]


@dataclass(frozen=True)
class DecisionModel:
    """Logistic regression on standardised features, plus the cut-offs that use it.

    Attributes:
        answer_at: probability from which the best entry is given as the answer.
        suggest_at: probability from which entries are offered as suggestions.
        also_within: a runner-up within this score of the answer is offered beside it
            ("您可能还想了解") when its own probability reaches `suggest_at`.
    """

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    answer_at: float
    suggest_at: float
    also_within: float = 0.1
    training: Mapping[str, Any] | None = None

    def probability(self, values: Sequence[float]) -> float:
        """P(the candidate is the entry the question asks for)."""
        if len(values) != len(self.weights):
            raise ValueError(f"{len(values)} features for a model of {len(self.weights)}")
        # w * (x - m) / s per feature, summed in order, the loop run in C (the matcher asks
        # this of six candidates per question).
        z = self.bias + sum(
            map(truediv, map(mul, self.weights, map(sub, values, self.mean)), self.scale)
        )
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))

    def to_json(self) -> dict[str, Any]:
        return {
            "features": list(FEATURES),
            "mean": [round(v, 6) for v in self.mean],
            "scale": [round(v, 6) for v in self.scale],
            "weights": [round(v, 6) for v in self.weights],
            "bias": round(self.bias, 6),
            "answer_at": round(self.answer_at, 4),
            "suggest_at": round(self.suggest_at, 4),
            "also_within": self.also_within,
            "training": dict(self.training or {}),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DecisionModel:
        if list(data["features"]) != list(FEATURES):
            raise ValueError(
                f"decision model was fitted on features {data['features']}, expected "
                f"{list(FEATURES)}: refit it with `python -m bot.answering.decision_fit`"
            )
        return cls(
            mean=tuple(float(v) for v in data["mean"]),
            scale=tuple(float(v) for v in data["scale"]),
            weights=tuple(float(v) for v in data["weights"]),
            bias=float(data["bias"]),
            answer_at=float(data["answer_at"]),
            suggest_at=float(data["suggest_at"]),
            also_within=float(data.get("also_within", 0.1)),
            training=data.get("training"),
        )


@dataclass(frozen=True)
class DecisionModels:
    """The two decisions: is the best *entry* the answer, and (when no entry is) is the best
    *sentence of the report* worth quoting."""

    entries: DecisionModel
    passages: DecisionModel

    def to_json(self) -> dict[str, Any]:
        return {"entries": self.entries.to_json(), "passages": self.passages.to_json()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DecisionModels:
        return cls(
            DecisionModel.from_json(data["entries"]), DecisionModel.from_json(data["passages"])
        )


@cache
def shipped_models() -> DecisionModels:
    """The models that ship with the package (read once per process)."""
    return DecisionModels.from_json(json.loads(MODEL_FILE.read_text(encoding="utf-8")))


def shipped_model() -> DecisionModel:
    return shipped_models().entries
