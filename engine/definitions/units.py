"""One unit format: 楼栋-单元-房号 (3-2-1201), whichever way the resident says it."""

from __future__ import annotations

import re
import unicodedata

# 3栋2单元1201(室), 3号楼2单元1201, 3-2-1201, 3 2 1201: building, entrance, room.
_UNIT = re.compile(r"^(\d+)\s*(?:栋|号楼|幢|座|-|\s)\s*(\d+)\s*(?:单元|-|\s)\s*(\d+)\s*(?:室|号)?$")


def normalise_unit(text: str | None) -> str | None:
    """`3-2-1201` for any way of writing building, entrance and room; None if `text` is none of them."""
    if not text:
        return None
    folded = unicodedata.normalize("NFKC", text).strip().replace("—", "-").replace("－", "-")
    match = _UNIT.match(folded)
    if match is None:
        return None
    building, entrance, room = match.groups()
    return f"{int(building)}-{int(entrance)}-{room}"  # a room's leading zero is part of its number (0101)
