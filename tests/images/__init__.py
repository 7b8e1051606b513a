"""Helpers for the image-count tests: small but real PNG, JPEG and WebP files."""

from __future__ import annotations

import socket
import struct
import zlib
from pathlib import Path

A1111_PARAMETERS = (
    "a secret prompt, masterpiece\n"
    "Negative prompt: blurry, Steps: 99\n"
    "Steps: 30, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7, Seed: 1234, "
    "Size: 832x1216, Model hash: 31e35c80fc, Model: sd_xl_base_1.0, "
    'Lora hashes: "add_detail: 7c6bad76eb54, Model: fake", Version: v1.9.4'
)


def chunk(ctype: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + ctype + data + struct.pack(">I", zlib.crc32(ctype + data))


def text_chunk(key: str, text: str, kind: str = "tEXt") -> bytes:
    if kind == "tEXt":
        return chunk(b"tEXt", key.encode("latin-1") + b"\0" + text.encode("latin-1"))
    if kind == "zTXt":
        return chunk(
            b"zTXt", key.encode("latin-1") + b"\0\0" + zlib.compress(text.encode("latin-1"))
        )
    # iTXt, compressed: keyword\0 flag method lang\0 translated\0 text
    body = zlib.compress(text.encode("utf-8"))
    return chunk(b"iTXt", key.encode("latin-1") + b"\0\x01\x00\0\0" + body)


def png_bytes(
    width: int = 2, height: int = 2, texts: list[bytes] | None = None, after_idat: list[bytes] = ()
) -> bytes:
    """A valid RGB PNG with optional text chunks before (and after) the image data."""
    ihdr = chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    raw = b"".join(b"\0" + b"\x80\x40\x20" * width for _ in range(height))
    idat = chunk(b"IDAT", zlib.compress(raw))
    return (
        b"\x89PNG\r\n\x1a\n"
        + ihdr
        + b"".join(texts or [])
        + idat
        + b"".join(after_idat)
        + chunk(b"IEND", b"")
    )


def jpeg_bytes() -> bytes:
    # Enough for our check: start-of-image, some payload, end-of-image.
    return b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF\x00" + b"\x11" * 64 + b"\xff\xd9"


def webp_bytes() -> bytes:
    payload = b"WEBP" + b"VP8 " + struct.pack("<I", 8) + b"\x00" * 8
    return b"RIFF" + struct.pack("<I", len(payload)) + payload


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def free_port() -> int:
    """A loopback port with nothing listening on it (a ComfyUI that is not running)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
