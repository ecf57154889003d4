"""乡助 NLU: normalization, intents, entities, emergencies and policy knowledge search.

Public surface::

    from nlu import NLU
    nlu = NLU.load()                       # trains from nlu/data or loads the cached model
    nlu.parse("俺家娃读职高能领补助不")        # Rasa-shaped ParseResult dict
    nlu.set_gazetteer(activities, villages)
    nlu.emergency.detect(text)             # EmergencyResult
    nlu.kb.PolicyIndex.build(docs, version_id).search(text)
    nlu.choices.parse_choice("第二个", options)
    nlu.normalize.normalize(text)
"""
from nlu.choices import parse_choice
from nlu.emergency import EmergencyResult, detect
from nlu.kb import KbHit, PolicyDoc, PolicyIndex
from nlu.parser import INTENTS, NLU

__all__ = [
    "INTENTS",
    "NLU",
    "EmergencyResult",
    "KbHit",
    "PolicyDoc",
    "PolicyIndex",
    "detect",
    "parse_choice",
]


def __getattr__(name: str):
    if name == "RasaNLU":  # imported lazily: pulls in httpx
        from nlu.rasa_backend import RasaNLU

        return RasaNLU
    if name == "load_backend":
        from nlu.backend import load_backend

        return load_backend
    raise AttributeError(f"module 'nlu' has no attribute {name!r}")
