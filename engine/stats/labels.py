"""Labels in both languages, as the statistics tables show names instead of ids."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Text:
    """A label in both languages (a LABEL column's value)."""

    zh: str
    en: str

    def __str__(self) -> str:
        return self.zh
