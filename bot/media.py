"""The media store: files that came with messages (voice, photos, documents), kept under
`XIANGZHU_MEDIA_DIR` so they outlive the messenger's own storage (WeChat's temporary media
expire after 3 days) and can be relayed to another channel or shown in the web.

Names are content-addressed: the SHA-256 of the bytes, fanned out by its first two hex
digits, plus a suffix from the MIME type — `3f/3fa9…c2.jpg`. Saving the same bytes twice
gives the same path and writes once. Paths handed out are relative to the store's root, so
the folder can move; `resolve` refuses paths that leave the root.

    store = MediaStore(settings.media_dir)
    rel = store.save(data, mime="image/jpeg")      # "3f/3fa9…c2.jpg"
    store.resolve(rel).read_bytes()

Writing is synchronous and atomic (temporary file + rename); async callers wrap it in
`asyncio.to_thread`.
"""
from __future__ import annotations

import hashlib
import mimetypes
import os
import re
import tempfile
from pathlib import Path

from bot.errors import BotError

__all__ = ["MediaStore", "MediaTooLarge", "suffix_for"]

DEFAULT_MAX_BYTES = 20 * 1024 * 1024

# types mimetypes does not know, or knows with an unhelpful suffix
_SUFFIXES = {
    "audio/amr": ".amr",
    "audio/speex": ".speex",
    "audio/ogg": ".ogg",
    "audio/mpeg": ".mp3",
    "image/jpeg": ".jpg",
    "image/jpg": ".jpg",
    "video/mp4": ".mp4",
    "text/plain": ".txt",
}
_SAFE_SUFFIX = re.compile(r"^\.[a-z0-9]{1,8}$")


class MediaTooLarge(BotError, ValueError):
    """The file is bigger than the store accepts."""


def suffix_for(mime: str = "", fallback: str = "") -> str:
    """A file suffix for a MIME type ("image/jpeg" → ".jpg"), else the fallback ("amr" → ".amr"),
    else ".bin"."""
    mime = (mime or "").split(";")[0].strip().lower()
    suffix = _SUFFIXES.get(mime) or (mimetypes.guess_extension(mime) if mime else None) or ""
    if not suffix and fallback:
        suffix = "." + fallback.lower().lstrip(".")
    return suffix if _SAFE_SUFFIX.match(suffix or "") else ".bin"


class MediaStore:
    def __init__(self, root: str | os.PathLike, max_bytes: int = DEFAULT_MAX_BYTES):
        self.root = Path(root)
        self.max_bytes = max_bytes

    def save(self, data: bytes, *, mime: str = "", suffix: str = "") -> str:
        """Store `data`; returns its path relative to the root."""
        if len(data) > self.max_bytes:
            raise MediaTooLarge(f"media of {len(data)} bytes is over the limit of {self.max_bytes}")
        digest = hashlib.sha256(data).hexdigest()
        relative = f"{digest[:2]}/{digest}{suffix_for(mime, suffix)}"
        target = self.root / relative
        if target.exists():
            return relative
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return relative

    def resolve(self, relative: str) -> Path:
        """The file behind a stored relative path; ValueError for a path outside the root."""
        root = self.root.resolve()
        path = (root / relative).resolve()
        if root not in path.parents:
            raise ValueError(f"media path {relative!r} is outside the media store")
        return path
