from __future__ import annotations

import json
import random
from dataclasses import replace

from bot.answering.decision import (
    FEATURES,
    MODEL_FILE,
    DecisionModel,
    DecisionModels,
    shipped_models,
)
from bot.answering.decision_fit import (
    WRONG_ANSWER_COST,
    WRONG_SUGGESTION_COST,
    _cut,
    fit_models,
)
from bot.answering.knowledge import load_knowledge
from bot.config import SHIPPED_KNOWLEDGE


def test_the_shipped_models_are_what_the_fitting_script_makes_of_the_shipped_knowledge() -> None:
    """The parameters are data with the script that produces them: a change to the knowledge
    base or to matching must come with a refit (`python -m bot.answering.decision_fit`), reviewed as a
    diff of numbers."""
    refit = fit_models(load_knowledge(SHIPPED_KNOWLEDGE)).to_json()
    shipped = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
    assert refit == shipped, (
        "bot/answering/decision_model.json is stale: run python -m bot.answering.decision_fit"
    )


def test_the_models_never_train_on_evaluation_questions() -> None:
    models = shipped_models()
    for model in (models.entries, models.passages):
        assert model.training is not None
        assert set(model.training["samples"]) <= {
            "leave-one-out",
            "unseen-wording",
            "reworded",
            "mistyped",
            "outside",
        }
        assert 0.0 < model.suggest_at <= model.answer_at < 1.0


def test_probability_rises_with_coverage_and_stays_a_probability() -> None:
    model = shipped_models().entries
    weak = [0.1, 0.2, 0.2, 0.2, 0.0, 0.5, 0.0]
    strong = [0.9, 0.95, 1.0, 1.0, 1.0, 3.0, 0.5]
    assert len(weak) == len(FEATURES)
    assert 0.0 <= model.probability(weak) < model.probability(strong) <= 1.0
    assert model.probability([1e9] * len(FEATURES)) <= 1.0  # no overflow


def test_a_model_round_trips_through_its_json_and_refuses_other_features() -> None:
    models = shipped_models()
    assert DecisionModels.from_json(models.to_json()) == models
    data = models.entries.to_json()
    data["features"] = ["score"]
    try:
        DecisionModel.from_json(data)
    except ValueError as exc:
        assert "decision_fit" in str(exc)
    else:
        raise AssertionError("a model fitted on other features must be refused")
    assert replace(models.entries, answer_at=0.5).answer_at == 0.5


def test_the_cut_offs_weigh_each_sample_as_the_fit_does() -> None:
    """A source that makes twice as many questions has each weigh half (`fit`), and the
    cut-offs count them so: how many rewordings the generator makes does not move them."""
    rng = random.Random(7)
    positives = [(rng.uniform(0.3, 1.0), 1, 1.0) for _ in range(200)]
    negatives = [(rng.uniform(0.0, 0.8), 0, 1.0) for _ in range(100)]
    doubled = [(p, label, 0.5) for p, label, _ in positives for _ in range(2)]
    for cost in (WRONG_ANSWER_COST, WRONG_SUGGESTION_COST):
        once = _cut(positives + negatives, cost_above_negative=cost)
        assert _cut(doubled + negatives, cost_above_negative=cost) == once
    # Counted raw, the doubled positives would pull the cut down.
    heavier = [(p, label, 1.0) for p, label, _ in doubled]
    assert _cut(heavier + negatives, cost_above_negative=WRONG_ANSWER_COST) < _cut(
        positives + negatives, cost_above_negative=WRONG_ANSWER_COST
    )
