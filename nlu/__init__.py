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
from __future__ import annotations

import importlib

# The public names are loaded on first use (PEP 562): `import nlu.kb` or `nlu.normalize` (the
# seed, the CLI, flow validation) must not pay for the parser's scikit-learn and SciPy.
_LAZY = {
    "INTENTS": "nlu.parser",
    "NLU": "nlu.parser",
    "EmergencyResult": "nlu.emergency",
    "detect": "nlu.emergency",
    "KbHit": "nlu.kb",
    "PolicyDoc": "nlu.kb",
    "PolicyIndex": "nlu.kb",
    "parse_choice": "nlu.choices",
    "RasaNLU": "nlu.rasa_backend",  # pulls in httpx
    "load_backend": "nlu.backend",
}

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
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'nlu' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
