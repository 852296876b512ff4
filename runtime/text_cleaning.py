"""The one cleaner for text people send: visitors' messages and comments, agents' messages,
notes and searches.

Text written on one side is read on the other: a visitor's message in the agent console, an
agent's reply in the widget. Characters that cannot be seen there could hide or reorder what is
shown, so both protocols remove the same ones.
"""

from __future__ import annotations

import re
import unicodedata

# Control characters (newline and tab stay), zero-width characters and direction marks and
# embeddings (U+200B-U+200F, U+202A-U+202E, U+2060-U+2069), the line and paragraph separators,
# the soft hyphen (U+00AD), the Arabic letter mark (U+061C) and the byte-order mark (U+FEFF).
_INVISIBLE = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
# Half of a UTF-16 pair without its other half: JSON can carry it, UTF-8 cannot store it.
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def clean_text(text: str) -> str:
    """Remove invisible characters, compose to NFC (the same words are stored and searched the
    same way however the keyboard encoded them) and trim the ends."""
    return unicodedata.normalize("NFC", _INVISIBLE.sub("", text)).strip()


def has_lone_surrogate(text: str) -> bool:
    """Whether the text holds a lone surrogate: such a field is refused, not repaired."""
    return _SURROGATE.search(text) is not None
