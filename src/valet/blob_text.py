"""A GraphQL ``Blob``'s text, taken only when it is the file as the contents API reads it.

Both joint queries read a file ahead as a Blob (issue_query: valet-publish.yml;
sdk_query: the configuration), and both must give the check what
``GET /contents/{path}`` would have: the file's exact UTF-8 text. A blob is that
only when GitHub says it is text and whole (``isBinary`` and ``isTruncated``
false), its text is exactly ``byteSize`` bytes of UTF-8, and nothing in it was
replaced (U+FFFD: bytes that were no UTF-8, which the contents API's decoding
refuses) or is a lone surrogate. A one-line text is not taken either: a symbolic
link's blob is the path it points to, which the contents API follows, and
neither file is ever one line. Anything else is None: the REST read decides.
"""

from __future__ import annotations

from typing import Any


def exact_text(blob: Any) -> str | None:
    """``blob``'s text when it is certainly the file's, else None (read through REST)."""
    if not isinstance(blob, dict) or blob.get("__typename") != "Blob":
        return None
    text, size = blob.get("text"), blob.get("byteSize")
    if (blob.get("isBinary") is not False or blob.get("isTruncated") is not False
            or not isinstance(text, str) or not isinstance(size, int)
            or isinstance(size, bool) or "\n" not in text or "\ufffd" in text):
        return None
    try:
        exact = len(text.encode("utf-8")) == size
    except UnicodeEncodeError:  # a lone surrogate: no text the contents API gives
        return None
    return text if exact else None
