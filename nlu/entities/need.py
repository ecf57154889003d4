"""``need_category`` of a hardship message: the lexicon's need words and a small classifier.

The lexicon finds named needs (学费, 漏雨, 瘫痪); a need told through what it causes (没人做饭,
娃娃读书的钱凑不齐, 地里的活一个人干不过来) has no such word, so a linear model over the
canonical text (the intent model's features) scores the categories too. It is trained on the
report_need examples that carry a need_category annotation (or, unannotated, that the lexicon
gives exactly one category), on the need examples of ``nlu/data/needs`` (which the intent
model never sees: they would tilt it toward report_need) and on every need surface of the
lexicon, labelled by its synonym. The category of the lexicon's main (longest) word gets ``LEXICON_BONUS``, other
named categories half of it; the best score wins. Below ``MIN_SCORE`` it is a guess: the runner-up is
always offered with it (the intake asks "是A还是B？" instead of the whole list). A runner-up within
``ALTERNATIVE_RATIO`` of the winner is reported too (or one the model alone gives at least
``MODEL_SPLIT``: a named need word must not hide that the model was torn; or, for a pair of
``NEIGHBOURS``, at least ``NEIGHBOUR_MIN``), and so is the loser when the lexicon's
main word and the model's favourite differ, so the intake can ask "是A还是B？".
Only messages that describe a need are scored, so the cost stays off every other parse.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from nlu.classifier import IntentModel, train_intent_model
from nlu.entities.base import Span
from nlu.normalize import normalize
from nlu.training_data import TrainingData, load_training_data

__all__ = ["NeedChoice", "NeedChooser", "need_training_set", "train_need_model"]

LEXICON_BONUS = 0.35  # a named need word is strong evidence, but a model sure of a neighbour can outvote it
MIN_SCORE = 0.3  # below: a guess, always offered with the runner-up (tenth round; was: no category)
ALTERNATIVE_RATIO = 0.6  # the runner-up is offered too when it scores at least this share of the winner
ALTERNATIVE_MIN = 0.2
MODEL_SPLIT = 0.3  # ... and also when the model alone gives the runner-up at least this (it is torn; was 0.35)
# Chosen by author hold-out (train without one voice's need and train files, score its need lines;
# docs/nlu.md, tenth round): less regularization than the intent model (1e-5) and features seen
# at least twice (a word only one author wrote teaches the other authors nothing).
NEED_ALPHA = 5e-6
NEED_MIN_DF = 2
# Neighbours: pairs of categories one need often belongs to both of, or that authors label
# differently (a house a flood cracked years ago: disaster or housing; a paralysed old father:
# elderly_care or disability). The most confused pairs of the author hold-out (docs/nlu.md,
# eleventh round). When the winner's neighbour is the runner-up and the model gives it at least
# NEIGHBOUR_MIN, it is offered too.
NEIGHBOURS = frozenset(frozenset(pair) for pair in (
    ("disaster", "housing"), ("medical", "disability"), ("livelihood", "medical"), ("elderly_care", "disability"),
    ("employment", "legal"), ("child_care", "psychological"), ("child_care", "elderly_care"),
    ("disability", "education"), ("education", "livelihood"),
))
NEIGHBOUR_MIN = 0.1


def _neighbours(a: str, b: str) -> bool:
    """`other` (the village's water, roads, lights…) has few, varied lines and no need words: the
    model learns it worst, so it is a neighbour of every category."""
    return frozenset((a, b)) in NEIGHBOURS or "other" in (a, b)


@dataclass(frozen=True, slots=True)
class NeedChoice:
    span: Span
    alternative: str | None = None


def need_training_set(data: TrainingData, canonicalize, extra: Sequence[Path] = ()) -> tuple[list[str], list[str]]:
    """`extra`: files of need examples only the need model learns from (``nlu/data/needs``)."""
    from nlu.entities.lexicon import LexiconExtractor

    lexicon = LexiconExtractor("need_category", data.lookups.get("need_category", ()), data.synonyms)
    examples = list(data.examples)
    for path in extra:
        examples += load_training_data(path, synonyms_from=data).examples
    texts, labels = [], []
    for ex in examples:
        if ex.intent != "report_need":
            continue
        values = [a.value for a in ex.entities if a.entity == "need_category"]
        if not values:  # unannotated: labelled by the lexicon when it names exactly one category
            named = {s.value for s in lexicon.extract(normalize(ex.text))}
            values = list(named) if len(named) == 1 else []
        if values:
            texts.append(canonicalize(normalize(ex.text)))
            labels.append(values[0])
    for surface in data.lookups.get("need_category", ()):
        value = data.synonyms.get(normalize(surface))
        if value:
            texts.append(canonicalize(normalize(surface)))
            labels.append(value)
    return texts, labels


def train_need_model(data: TrainingData, canonicalize, extra: Sequence[Path] = (),
                     algorithm: str = "logreg") -> IntentModel | None:
    texts, labels = need_training_set(data, canonicalize, extra)
    if len(set(labels)) < 2:
        return None
    return train_intent_model(texts, labels, algorithm, alpha=NEED_ALPHA, min_df=NEED_MIN_DF)


class NeedChooser:
    def __init__(self, model: IntentModel | None):
        self.model = model

    def choose(self, canonical_text: str, spans: list[Span], length: int) -> NeedChoice | None:
        """`spans`: the lexicon's need spans; `length`: of the normalized text (the span
        of a category only the model saw is the whole message)."""
        main = max(spans, key=lambda s: (s.end - s.start, -s.start)) if spans else None
        if self.model is None:
            return NeedChoice(main) if main else None
        scores = dict(zip(self.model.labels, self.model.probabilities(canonical_text).tolist()))
        model_only = dict(scores)
        model_best = max(scores, key=scores.__getitem__)
        for value in {s.value for s in spans}:  # the main (longest) word counts fully, other need words half
            bonus = LEXICON_BONUS if value == main.value else LEXICON_BONUS / 2
            scores[value] = scores.get(value, 0.0) + bonus
        ranked = sorted(scores.items(), key=lambda kv: -kv[1])
        (best, top), (second, runner_up) = ranked[0], ranked[1]
        torn = model_only.get(second, 0.0) >= MODEL_SPLIT or (
            _neighbours(best, second) and model_only.get(second, 0.0) >= NEIGHBOUR_MIN)
        alternative = second if (top < MIN_SCORE or runner_up >= max(ALTERNATIVE_MIN, ALTERNATIVE_RATIO * top)
                                 or torn) else None
        if main is not None and main.value != model_best:  # the need word and the model disagree
            other = model_best if best == main.value else main.value
            alternative = other if scores[other] >= ALTERNATIVE_MIN else alternative
        if main is not None and main.value == best:
            span = main
        else:
            word = max((s for s in spans if s.value == best), key=lambda s: s.end - s.start, default=None)
            span = word or Span("need_category", best, 0, length, round(min(top, 1.0), 3), "NeedClassifier")
        return NeedChoice(span, alternative)
