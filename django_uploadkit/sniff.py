"""Magic bytes: does an object's beginning contradict its declared type?

Only types with a reliable signature are checked; for others the declared type stands.
A file that declares an image but starts like HTML or SVG is the case that matters: served
from your domain it would run script.
"""

from __future__ import annotations

SNIFF_BYTES = 64

_SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/bmp": (b"BM",),
    "image/tiff": (b"II*\x00", b"MM\x00*"),
    "image/x-icon": (b"\x00\x00\x01\x00",),
    "image/vnd.microsoft.icon": (b"\x00\x00\x01\x00",),
    "application/pdf": (b"%PDF-",),
    "application/zip": (b"PK\x03\x04", b"PK\x05\x06"),
    "application/gzip": (b"\x1f\x8b",),
    "audio/mpeg": (b"ID3", b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"),
    "audio/ogg": (b"OggS",),
    "video/ogg": (b"OggS",),
    "audio/flac": (b"fLaC",),
    "video/webm": (b"\x1a\x45\xdf\xa3",),
}


def _riff(head: bytes, kind: bytes) -> bool:
    return head[:4] == b"RIFF" and head[8:12] == kind


def _iso_media(head: bytes) -> bool:
    return head[4:8] == b"ftyp"


_SPECIAL = {
    "image/webp": lambda h: _riff(h, b"WEBP"),
    "audio/wav": lambda h: _riff(h, b"WAVE"),
    "audio/x-wav": lambda h: _riff(h, b"WAVE"),
    "video/x-msvideo": lambda h: _riff(h, b"AVI "),
    "video/mp4": _iso_media,
    "video/quicktime": _iso_media,
    "audio/mp4": _iso_media,
    "image/heic": _iso_media,
    "image/avif": _iso_media,
}


def contradicts(content_type: str, head: bytes) -> bool:
    """True when ``head`` is plainly not a ``content_type`` file."""
    if content_type in _SPECIAL:
        return not _SPECIAL[content_type](head)
    signatures = _SIGNATURES.get(content_type)
    if signatures is not None:
        return not head.startswith(signatures)
    return False
