"""How the History window writes generations and published references. Qt-free, pure.

Unknown reads "unknown" (never 0); an approximate window's figure carries "≈"; French numbers
get a decimal comma.
"""

from __future__ import annotations

from typing import Any

from tray_app.images.models import LABELS, Reference
from tray_app.system.i18n import _, current_language, ngettext

APPROX = "≈"


def decimal(value: float, digits: int) -> str:
    text = f"{value:.{digits}f}"
    return text.replace(".", ",") if current_language() == "fr" else text


def wh(value: float | None, approx: bool = False) -> str:
    """Wh with two decimals below 10 Wh (a generation is often a fraction of a watt-hour)."""
    if value is None:
        return _("unknown")
    text = _("{wh} Wh").format(wh=decimal(value, 2 if value < 10 else 1))
    return f"{APPROX}{text}" if approx else text


def seconds(value: float | None) -> str:
    return _("unknown") if value is None else _("{s} s").format(s=decimal(value, 1))


def family_label(family: str | None) -> str:
    if not family or family == "unknown":
        return _("unknown model")
    return LABELS.get(family, family)


def size_text(width: int | None, height: int | None) -> str:
    return f"{width}×{height}" if width and height else _("size unknown")


def steps_text(steps: int | None) -> str:
    if steps is None:
        return _("steps unknown")
    return ngettext("{n} step", "{n} steps", steps).format(n=steps)


def settings_text(g: dict[str, Any]) -> str:
    """"SDXL · 30 steps · 832×1216 · DPM++ 2M" (what is not known says so)."""
    parts = [family_label(g.get("model_family")), steps_text(g.get("steps")),
             size_text(g.get("width"), g.get("height"))]  # fmt: skip
    if g.get("sampler"):
        parts.append(str(g["sampler"]))
    return " · ".join(parts)


def is_approximate(g: dict[str, Any]) -> bool:
    return g.get("window") != "exact"


def window_label(window: str | None) -> str:
    return _("exact") if window == "exact" else _("≈ approximate")


def window_explanation(window: str | None) -> str:
    if window == "exact":
        return _("Exact window: from the tool's own start and end timestamps.")
    return _(
        "Approximate window: from the previous image (or the session's start) to this one, "
        "counting active time only."
    )


def reference_text(ref: Reference) -> str:
    """"1,64 Wh/image — AI Energy Score, NVIDIA H100, 2025" with what it was measured on."""
    per = _("{wh} Wh/image").format(wh=decimal(ref.wh_per_image, 2))
    source = ref.source.split(" (")[0].removesuffix(" leaderboard")  # the full name: tooltip
    hardware = ref.hardware.removeprefix("NVIDIA ")
    where = ", ".join(filter(None, (source, hardware, ref.published)))
    text = f"{per} — {where}"
    if ref.steps:
        text += " · " + steps_text(ref.steps)
    if ref.family == "unknown":
        text += " · " + _("average of many models")
    return text


def reference_tooltip(ref: Reference) -> str:
    scope = _("GPU only") if ref.gpu_only else _("whole machine")
    return f"{ref.source}\n{ref.model}\n{ref.hardware} · {ref.published} · {scope}\n{ref.url}"


def generation_tooltip(g: dict[str, Any]) -> str:
    from datetime import datetime

    approx = is_approximate(g)
    start = datetime.fromtimestamp(g["start_ts"]).strftime("%H:%M:%S")
    end = datetime.fromtimestamp(g["end_ts"]).strftime("%H:%M:%S")
    lines = [
        _("Generation {start}–{end}: {images}, {total}").format(
            start=start, end=end,
            images=ngettext("{n} image", "{n} images", g.get("images") or 0).format(
                n=g.get("images") or 0),
            total=wh(g.get("total_wh"), approx),
        ),  # fmt: skip
        settings_text(g),
        window_explanation(g.get("window")),
    ]
    if g.get("wh_per_image") is not None:
        lines.insert(1, _("{wh} per image").format(wh=wh(g["wh_per_image"], approx)))
    return "\n".join(lines)
