"""One door for the session tracker: how many images has this tool made in this session?

    counter = ImageCounter.for_tool("comfyui", root, port, process_start_ts, extra_dirs)
    count = counter.poll(session_start_ts, time.time())   # every 10–30 s while a session is open

`count.images is None` means "cannot count" (tool unreachable, no known output folder), never 0.
ComfyUI is asked through its local API; if that never answers, its output folder is watched
instead. Every other tool is counted from its output folders and the user's own folders.

The first session of a tool process also counts what finished since the process started (the
monitor notices a tool a few seconds late), but never more than FIRST_SESSION_LOOKBACK_S before
the session: images made before we were watching were not measured, and counting them would
make the energy per image look smaller than it is.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tray_app.images.comfyui import DEFAULT_PORT, ComfyHistoryCounter, ComfyUIClient
from tray_app.images.folders import TOOL_ALIASES, FolderImageCounter, tool_output_dirs
from tray_app.images.models import ImageMeta, guess_family

FIRST_SESSION_LOOKBACK_S = 120.0


@dataclass(frozen=True, slots=True)
class Unit:
    """One piece of work a counter saw finish: a ComfyUI prompt, or one saved image file.

    `start_ts` is set only when the tool itself stated when the work began (ComfyUI's
    `execution_start`): the window is then exact. Otherwise the session decides where the
    window starts (see tray_app.sessions.generations).
    """

    key: str  # ComfyUI's prompt id, or a hash of the image's path
    end_ts: float
    images: int
    meta: ImageMeta
    start_ts: float | None = None
    after_ts: float | None = None  # undated: it finished after this (our previous look)
    source: str = "folders"


@dataclass(frozen=True, slots=True)
class ImageCount:
    images: int | None  # None: could not count (not zero)
    model_name: str | None = None  # the model file name that made most of them
    model_family: str | None = None  # see tray_app.images.models.FAMILIES
    width: int | None = None
    height: int | None = None
    steps: int | None = None
    family_certain: bool = False  # False when the family was only guessed from the image size
    source: str | None = None  # "comfyui-api" or "folders": how the images were counted
    units: tuple[Unit, ...] = ()  # each prompt or image of the session, oldest first


UNCOUNTED = ImageCount(None)


def summarise(
    images: int,
    metas: Iterable[tuple[float, int, ImageMeta]],
    source: str,
    units: tuple[Unit, ...] = (),
) -> ImageCount:
    """Fold per-image (or per-prompt) details into one count: the model that made most images
    (the latest on a tie), and that model's latest size and steps."""
    items = sorted(metas, key=lambda item: item[0])
    if not items:
        return ImageCount(images, source=source, units=units)
    weights: Counter[str | None] = Counter()
    for _when, n, meta in items:
        weights[meta.model_name] += n
    named = {name: w for name, w in weights.items() if name is not None}
    if named:
        top = max(named.values())
        latest = next(
            m for _w, _n, m in reversed(items)
            if m.model_name is not None and named.get(m.model_name) == top
        )
    else:
        latest = items[-1][2]
    if latest.family:
        family, certain = latest.family, True
    else:
        guess = guess_family(None, None, latest.width, latest.height)
        family, certain = guess.family, guess.certain
    return ImageCount(
        images,
        model_name=latest.model_name,
        model_family=family,
        width=latest.width,
        height=latest.height,
        steps=latest.steps,
        family_certain=certain,
        source=source,
        units=units,
    )


class ImageCounter:
    """Counts one tool process's images, session by session. Read-only; never raises in poll."""

    def __init__(
        self,
        process_start_ts: float,
        comfy: ComfyHistoryCounter | None = None,
        folder_dirs: Sequence[Path] = (),
    ) -> None:
        self.process_start_ts = process_start_ts
        self._comfy = comfy
        self._folder_dirs = list(folder_dirs)
        self._folders: FolderImageCounter | None = None
        self._first_session: float | None = None

    @classmethod
    def for_tool(
        cls,
        tool_id: str,
        root: Path | None,
        port: int | None,
        process_start_ts: float,
        extra_dirs: Sequence[Path] = (),
    ) -> ImageCounter:
        tool = TOOL_ALIASES.get(tool_id.lower(), tool_id.lower())
        dirs = [*tool_output_dirs(tool, root), *extra_dirs]
        comfy = None
        if tool == "comfyui":
            comfy = ComfyHistoryCounter(ComfyUIClient(port or DEFAULT_PORT))
        return cls(process_start_ts, comfy, dirs)

    def count_from(self, session_start_ts: float) -> float:
        """Where this session's counting starts (see the module docstring)."""
        if self._first_session is None:
            self._first_session = session_start_ts
        if session_start_ts != self._first_session:
            return session_start_ts
        earliest = max(self.process_start_ts, session_start_ts - FIRST_SESSION_LOOKBACK_S)
        return min(session_start_ts, earliest)

    def poll(self, session_start_ts: float, now: float) -> ImageCount:
        try:
            return self._poll(self.count_from(session_start_ts), now)
        except Exception:  # noqa: BLE001 - a count is a nicety: it must never stop a session
            return UNCOUNTED

    def _poll(self, since: float, now: float) -> ImageCount:
        if self._comfy is not None:
            records = self._comfy.poll(since, now)
            if records is not None:
                total = sum(r.images for r in records)
                units = tuple(
                    sorted(
                        (
                            Unit(
                                r.prompt_id,
                                r.completed_at or 0.0,
                                r.images,
                                r.meta,
                                r.started_at,
                                r.seen_after,
                                "comfyui-api",
                            )
                            for r in records
                        ),
                        key=lambda u: u.end_ts,
                    )
                )
                return summarise(
                    total,
                    ((r.completed_at or 0.0, r.images, r.meta) for r in records),
                    "comfyui-api",
                    units,
                )
        if not self._folder_dirs:
            return UNCOUNTED
        if self._folders is None:
            self._folders = FolderImageCounter(self._folder_dirs)
        result = self._folders.poll(since, now)
        if result is None:
            return UNCOUNTED
        units = tuple(
            Unit(key, t, 1, m) for (t, m), key in zip(result.metas, result.keys, strict=False)
        )
        return summarise(result.images, ((t, 1, m) for t, m in result.metas), "folders", units)
