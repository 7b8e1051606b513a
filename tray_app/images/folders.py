"""Count the images a tool writes into its output folders, read-only and cheaply.

Where the folders are comes from the tool's install layout or its own settings file (A1111 and
Forge `config.json`, SD.Next `config.json`, Fooocus `config.txt`, InvokeAI `invokeai.yaml`,
SwarmUI `Data/Settings.fdsv`), plus any folder the user named in the settings.

Cheap when nothing changes: a directory's entries are listed again only when its mtime moved
(creating a file bumps it), so a quiet poll costs one stat per directory. An image counts once
it is complete: not empty, no longer growing, and ending the way its format ends (PNG IEND,
JPEG EOI, WebP RIFF size), so a half-written file is never counted early.

A1111-family PNGs carry their settings in a `parameters` text chunk; we read the chunks before
the image data only, keep the model name, size and steps, and drop the prompt at once.
"""

from __future__ import annotations

import json
import os
import re
import stat
import struct
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

try:  # hashlib's own blake2b, without hashlib loading OpenSSL's libcrypto (3 MiB of RSS)
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - a Python built without it
    from hashlib import blake2b

from tray_app.images.models import (
    ImageMeta,
    model_file_name,
    positive_int,
    sampler_name,
    stated_family,
)

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp")
# Folders that hold copies or previews, not new generations.
SKIP_DIRS = frozenset({"thumbnails", "thumbs", ".thumbnails", "__pycache__", "temp", "tmp"})
MAX_DEPTH = 4  # SwarmUI: Output/<user>/raw/<date>/ is the deepest layout we know
MAX_DIRS = 5000  # a bound on one poll's work, whatever the user pointed us at
# Coarse file-system clocks (FAT: 2 s) can hide a change made just after a listing.
MTIME_SLACK_S = 2.0
SETTLE_S = 2.0  # an untouched file this old is no longer being written
GIVE_UP_S = 600.0  # a file still malformed after this long is a broken write: forget it
MAX_PENDING = 2000

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_IEND = b"\x00\x00\x00\x00IEND\xaeB`\x82"
_TEXT_KEYS = frozenset({"parameters", "invokeai_metadata"})
MAX_TEXT_BYTES = 256 * 1024  # generation parameters are a few kB; a huge chunk is not ours


# --- where the images go -------------------------------------------------------------------


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8", errors="replace"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _under(root: Path, value: object, default: str) -> Path:
    text = value if isinstance(value, str) and value.strip() else default
    path = Path(os.path.expanduser(text.strip()))
    return path if path.is_absolute() else root / path


def _webui_dirs(root: Path, defaults: Sequence[tuple[str, str]]) -> list[Path]:
    # A1111/Forge/SD.Next: `outdir_samples`, when set, replaces every per-tab folder. Grids,
    # extras and "Save" copies are left out: they are not new generations.
    config = _read_json(root / "config.json")
    if isinstance(config.get("outdir_samples"), str) and config["outdir_samples"].strip():
        return [_under(root, config["outdir_samples"], "")]
    return [_under(root, config.get(key), default) for key, default in defaults]


_A1111_DEFAULTS = (
    ("outdir_txt2img_samples", "outputs/txt2img-images"),
    ("outdir_img2img_samples", "outputs/img2img-images"),
)
_SDNEXT_DEFAULTS = (
    ("outdir_txt2img_samples", "outputs/text"),
    ("outdir_img2img_samples", "outputs/image"),
    ("outdir_control_samples", "outputs/control"),
)


def _line_value(path: Path, key: str) -> str | None:
    """`key: value` from a simple YAML/FDS file, without a parser for the whole format."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                name, sep, value = line.strip().partition(":")
                if sep and name.strip() == key:
                    return value.strip().strip("'\"") or None
    except OSError:
        return None
    return None


def tool_output_dirs(tool_id: str, root: Path | None) -> list[Path]:
    """The folders where `tool_id` installed at `root` saves its generated images."""
    if root is None:
        return []
    tool = TOOL_ALIASES.get(tool_id.lower(), tool_id.lower())
    if tool in ("a1111", "forge"):
        return _webui_dirs(root, _A1111_DEFAULTS)
    if tool == "sdnext":
        return _webui_dirs(root, _SDNEXT_DEFAULTS)
    if tool == "fooocus":
        return [_under(root, _read_json(root / "config.txt").get("path_outputs"), "outputs")]
    if tool == "invokeai":
        return [
            _under(root, _line_value(root / "invokeai.yaml", "outputs_dir"), "outputs") / "images"
        ]
    if tool == "swarmui":
        return [_under(root, _line_value(root / "Data" / "Settings.fdsv", "OutputPath"), "Output")]
    if tool == "comfyui":  # the API is preferred; this is the fallback when it does not answer
        return [root / "output"]
    return []


TOOL_ALIASES = {
    "automatic1111": "a1111",
    "stable-diffusion-webui": "a1111",
    "sd-webui": "a1111",
    "sd-webui-forge": "forge",
    "stable-diffusion-webui-forge": "forge",
    "sd.next": "sdnext",
    "vladmandic": "sdnext",
    "automatic": "sdnext",
    "invoke": "invokeai",
    "stableswarmui": "swarmui",
    "swarm": "swarmui",
    "comfy": "comfyui",
}


def distinct_dirs(dirs: Iterable[Path]) -> list[Path]:
    """Drop duplicates and folders inside another one, so no image is counted twice."""
    resolved: list[Path] = []
    for d in dirs:
        try:
            resolved.append(Path(os.path.realpath(d)))
        except (OSError, ValueError):
            continue
    keep: list[Path] = []
    for d in sorted(set(resolved), key=lambda p: len(p.parts)):
        if not any(d == k or k in d.parents for k in keep):
            keep.append(d)
    return keep


# --- what a PNG says about how it was made ---------------------------------------------------


def png_text(path: str | os.PathLike[str], keys: frozenset[str] = _TEXT_KEYS) -> dict[str, str]:
    """The tEXt/zTXt/iTXt chunks named in `keys`, read from the header only (stops at IDAT)."""
    found: dict[str, str] = {}
    try:
        with open(path, "rb") as handle:
            if handle.read(8) != _PNG_SIGNATURE:
                return found
            budget = MAX_TEXT_BYTES
            while True:
                head = handle.read(8)
                if len(head) < 8:
                    break
                length, ctype = struct.unpack(">I4s", head)
                if ctype in (b"IDAT", b"IEND"):
                    break
                if ctype in (b"tEXt", b"zTXt", b"iTXt") and length <= budget:
                    data = handle.read(length)
                    crc = handle.read(4)
                    budget -= length
                    if len(crc) == 4 and struct.unpack(">I", crc)[0] == zlib.crc32(ctype + data):
                        item = _decode_text_chunk(ctype, data)
                        if item and item[0] in keys:
                            found[item[0]] = item[1]
                else:
                    handle.seek(length + 4, os.SEEK_CUR)
    except OSError:
        pass
    return found


def _inflate(data: bytes) -> bytes | None:
    try:
        out = zlib.decompressobj().decompress(data, MAX_TEXT_BYTES)  # bounded: no zip bombs
    except zlib.error:
        return None
    return out


def _decode_text_chunk(ctype: bytes, data: bytes) -> tuple[str, str] | None:
    keyword, sep, rest = data.partition(b"\x00")
    if not sep:
        return None
    key = keyword.decode("latin-1")
    if ctype == b"tEXt":
        return key, rest.decode("latin-1")
    if ctype == b"zTXt":
        text = _inflate(rest[1:]) if rest[:1] == b"\x00" else None
        return (key, text.decode("latin-1")) if text is not None else None
    # iTXt: compression flag, method, language\0, translated keyword\0, UTF-8 text
    if len(rest) < 2:
        return None
    compressed = rest[0] == 1
    _lang, _, rest2 = rest[2:].partition(b"\x00")
    _translated, _, body = rest2.partition(b"\x00")
    raw = _inflate(body) if compressed else body
    return (key, raw.decode("utf-8", errors="replace")) if raw is not None else None


_A1111_STEPS = re.compile(r"(?:^|, )Steps: (\d+)")
_A1111_SIZE = re.compile(r"(?:^|, )Size: (\d+)x(\d+)")
_A1111_MODEL = re.compile(r"(?:^|, )Model: ([^,]+)")
_A1111_SAMPLER = re.compile(r"(?:^|, )Sampler: ([^,]+)")


def parse_parameters(chunks: dict[str, str]) -> ImageMeta:
    """Model, size and steps from a PNG's generation text; the prompt is never kept."""
    invoke = chunks.get("invokeai_metadata")
    if invoke:
        meta = _parse_json_meta(invoke)
        if meta is not None:
            return meta
    text = chunks.get("parameters", "")
    if text.lstrip().startswith("{"):
        return _parse_json_meta(text) or ImageMeta()
    # A1111: prompt lines, then "Negative prompt: …", then the settings line, which is last.
    settings = next(
        (line for line in reversed(text.splitlines()) if line.startswith("Steps: ")), ""
    )
    if not settings:
        return ImageMeta()
    steps = _A1111_STEPS.search(settings)
    size = _A1111_SIZE.search(settings)
    model = _A1111_MODEL.search(settings)
    sampler = _A1111_SAMPLER.search(settings)
    model_ref = model.group(1).strip() if model else None
    return ImageMeta(
        model_name=model_file_name(model_ref),
        family=stated_family(model_ref),
        width=int(size.group(1)) if size else None,
        height=int(size.group(2)) if size else None,
        steps=int(steps.group(1)) if steps else None,
        sampler=sampler_name(sampler.group(1)) if sampler else None,
    )


def _parse_json_meta(text: str) -> ImageMeta | None:
    """InvokeAI `invokeai_metadata`, SwarmUI `sui_image_params`, Fooocus's own scheme."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    data = data.get("sui_image_params", data)  # SwarmUI nests its parameters
    if not isinstance(data, dict):
        return None
    model = data.get("model") or data.get("base_model") or data.get("base_model_name")
    base = None
    if isinstance(model, dict):  # InvokeAI: {"name": …, "base": "sdxl"}
        base = model.get("base")
        model = model.get("name") or model.get("model_name")
    width, height = positive_int(data.get("width")), positive_int(data.get("height"))
    resolution = data.get("resolution")  # Fooocus: "(1024, 1024)"
    if (width is None or height is None) and isinstance(resolution, str | list):
        numbers = re.findall(r"\d+", str(resolution))
        if len(numbers) == 2:
            width, height = int(numbers[0]), int(numbers[1])
    model_ref = model if isinstance(model, str) else None
    return ImageMeta(
        model_name=model_file_name(model_ref),
        family=stated_family(model_ref, base if isinstance(base, str) else None),
        width=width,
        height=height,
        steps=positive_int(data.get("steps")),
        sampler=sampler_name(
            data.get("sampler") or data.get("sampler_name") or data.get("scheduler")
        ),
    )


# --- counting new files --------------------------------------------------------------------


def path_key(path: str) -> str:
    """A short stable key for an image file that does not reveal its name."""
    return blake2b(os.fsencode(path), digest_size=8).hexdigest()


def is_image_name(name: str) -> bool:
    # Hidden names are the temporary files of careful writers (".x.png.part", ".tmpab12.png").
    return not name.startswith(".") and name.lower().endswith(IMAGE_EXTENSIONS)


def has_complete_ending(path: str, size: int) -> bool:
    """Does the file end the way its format ends? Reads at most 12 bytes at each end."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(12)
            handle.seek(max(0, size - 12))
            tail = handle.read(12)
    except OSError:
        return False
    if head.startswith(_PNG_SIGNATURE):
        return tail == _PNG_IEND
    if head.startswith(b"\xff\xd8"):
        return tail.rstrip(b"\x00").endswith(b"\xff\xd9")
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return struct.unpack("<I", head[4:8])[0] + 8 <= size
    return False


@dataclass(slots=True)
class _Dir:
    mtime_ns: int
    listed_at: float  # wall-clock time of the listing
    subdirs: tuple[str, ...]
    names: set[str] | None  # image names already judged; None: never needed (old folder)


@dataclass(frozen=True, slots=True)
class _Counted:
    mtime: float
    meta: ImageMeta


@dataclass(frozen=True, slots=True)
class FolderCount:
    images: int
    metas: tuple[tuple[float, ImageMeta], ...]  # (mtime, meta) of each counted image
    # A stable key per image (a hash of its path: file names can hold prompt words), same order.
    keys: tuple[str, ...] = ()


class FolderImageCounter:
    """Counts complete image files created in some folders since a given time.

    Not thread-safe: one caller polls it. It never writes anything.
    """

    def __init__(self, dirs: Iterable[Path], *, max_depth: int = MAX_DEPTH) -> None:
        self.dirs = distinct_dirs(dirs)
        self.max_depth = max_depth
        self._tree: dict[str, _Dir] = {}
        self._pending: dict[str, tuple[int, int]] = {}  # path -> (size, mtime_ns) last seen
        self._counted: dict[str, _Counted] = {}
        self._count_from: float | None = None

    def poll(self, count_from: float, now: float) -> FolderCount | None:
        """Images created at or after `count_from`; None when no folder can be read."""
        if self._count_from is not None and count_from != self._count_from:
            # A new session: what was counted before it no longer counts.
            self._counted = {p: c for p, c in self._counted.items() if c.mtime >= count_from}
        self._count_from = count_from
        # Files left waiting by an earlier poll; those first seen now wait for the next one.
        waiting = list(self._pending)
        readable = False
        budget = [MAX_DIRS]
        for root in self.dirs:
            readable |= self._walk(str(root), count_from, now, budget)
        for path in waiting:
            if path in self._pending:
                self._judge(path, count_from, now)
        if not readable:
            return None
        counted = sorted(
            ((c.mtime, c.meta, path) for path, c in self._counted.items() if c.mtime >= count_from),
            key=lambda item: item[0],
        )
        return FolderCount(
            len(counted),
            tuple((mtime, meta) for mtime, meta, _path in counted),
            tuple(path_key(path) for _mtime, _meta, path in counted),
        )

    def _walk(self, root: str, count_from: float, now: float, budget: list[int]) -> bool:
        stack = [(root, 0)]
        readable = False
        while stack and budget[0] > 0:
            path, depth = stack.pop()
            budget[0] -= 1
            try:
                st = os.stat(path)
            except OSError:
                self._tree.pop(path, None)
                continue
            if not stat.S_ISDIR(st.st_mode):
                continue
            entry = self._tree.get(path)
            if (
                entry is None
                or entry.mtime_ns != st.st_mtime_ns
                or st.st_mtime >= entry.listed_at - MTIME_SLACK_S
            ):
                entry = self._list(path, st, entry, count_from, now)
                if entry is None:
                    continue
            readable = readable or depth == 0
            if depth < self.max_depth:
                stack.extend((os.path.join(path, name), depth + 1) for name in entry.subdirs)
        return readable

    def _list(
        self, path: str, st: os.stat_result, old: _Dir | None, count_from: float, now: float
    ) -> _Dir | None:
        # A file created at time t bumps its folder's mtime to >= t: a folder last changed
        # before `count_from` holds no new file, so its files need no stat at all.
        fresh = st.st_mtime >= count_from
        known = old.names if old is not None else None
        subdirs: list[str] = []
        names: set[str] = set()
        try:
            with os.scandir(path) as entries:
                for item in entries:
                    name = item.name
                    try:
                        is_dir = item.is_dir(follow_symlinks=False)
                    except OSError:
                        continue
                    if is_dir:
                        if not name.startswith(".") and name.lower() not in SKIP_DIRS:
                            subdirs.append(name)
                    elif is_image_name(name):
                        names.add(name)
                        if fresh and (known is None or name not in known):
                            self._judge(os.path.join(path, name), count_from, now)
        except OSError:
            self._tree.pop(path, None)
            return None
        entry = _Dir(st.st_mtime_ns, now, tuple(sorted(subdirs)), names if fresh else None)
        self._tree[path] = entry
        return entry

    def _judge(self, path: str, count_from: float, now: float) -> None:
        """Count, keep waiting for, or ignore one image file."""
        try:
            st = os.stat(path)
        except OSError:
            self._pending.pop(path, None)  # gone (a temp file renamed away, or deleted)
            return
        if st.st_mtime < count_from or path in self._counted:
            self._pending.pop(path, None)
            return
        last = self._pending.get(path)
        signature = (st.st_size, st.st_mtime_ns)
        age = now - st.st_mtime
        still = last == signature or age >= SETTLE_S
        if st.st_size > 0 and still and has_complete_ending(path, st.st_size):
            self._pending.pop(path, None)
            meta = (
                parse_parameters(png_text(path)) if path.lower().endswith(".png") else ImageMeta()
            )
            self._counted[path] = _Counted(st.st_mtime, meta)
        elif age >= GIVE_UP_S and last == signature:
            self._pending.pop(path, None)  # a broken write, never completed
        elif path in self._pending or len(self._pending) < MAX_PENDING:
            self._pending[path] = signature
