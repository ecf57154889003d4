"""Entity extractors. Each works on normalized text and returns ``Span`` objects whose
offsets index that normalized text; ``nlu.parser`` maps them back to the original text."""
from nlu.entities.base import Span

__all__ = ["Span"]
