"""A location shared from a phone suggests the village: the nearest village centre within a
few kilometres becomes a `village` entity in the parse result, as if the person had typed
the village's name (a question about the village then takes it)."""
from __future__ import annotations

import re

from storage.areas import nearest_village

_GEO = re.compile(r"^geo:(-?\d+(?:\.\d+)?),(-?\d+(?:\.\d+)?)$")


def coordinates(attachments) -> tuple[float, float] | None:
    for a in attachments:
        if a.kind == "location":
            m = _GEO.match(a.platform_id or "")
            if m:
                return float(m.group(1)), float(m.group(2))
    return None


async def add_village_entity(session, parse: dict, attachments) -> None:
    """Adds the suggested village to `parse["entities"]` unless the NLU already found one."""
    point = coordinates(attachments)
    if point is None or any(e.get("entity") == "village" for e in parse.get("entities", [])):
        return
    village = await nearest_village(session, *point)
    if village is not None:
        parse.setdefault("entities", []).append({
            "entity": "village", "value": str(village.id), "start": 0, "end": 0,
            "confidence": 1.0, "extractor": "location"})
