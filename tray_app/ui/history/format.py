"""How the History window writes numbers and names. Qt-free, pure functions.

Honest numbers: unknown reads "?" (never 0), and an estimated figure carries "≈" wherever it is
shown, so a reader cannot mistake an estimate for a measurement.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from tray_app.sessions import labels
from tray_app.system import fmt
from tray_app.system.i18n import _, ngettext

UNKNOWN = "?"
APPROX = "≈"
ESTIMATED_METHODS = frozenset({"estimated", "mixed"})


@cache
def _tool_labels() -> dict[str, str]:
    from tray_app.detect.tools import DIFFUSERS, TOOLS

    return {t.id: t.label for t in (*TOOLS, DIFFUSERS)}


def tool_label(tool: str | None) -> str:
    if not tool:
        return UNKNOWN
    if tool == "manual":
        return _("Manual session")
    return _tool_labels().get(tool, tool)


def is_estimated(session: dict[str, Any]) -> bool:
    return session.get("energy_method") in ESTIMATED_METHODS


def method_label(method: str | None) -> str:
    return {
        "counter": _("measured (counter)"),
        "sampled": _("measured (samples)"),
        "estimated": _("≈ estimated"),
        "mixed": _("≈ partly estimated"),
    }.get(method or "", UNKNOWN)


def method_explanation(method: str | None) -> str:
    return {
        "counter": _("Measured by the hardware's energy counter: the most exact figure."),
        "sampled": _("Measured from power readings taken every second or so."),
        "estimated": _(
            "Estimated from the processor's load and its rated power: no sensor could measure it."
        ),
        "mixed": _("Partly measured, partly estimated (one of the devices had no sensor)."),
    }.get(method or "", _("How this figure was obtained is not known."))


def attribution_label(summary: str | None) -> str:
    """How a session's energy was attributed (tray_app/sessions/labels.py), in words."""
    return {
        labels.ATTRIBUTED: _("attributed: process list + utilisation"),
        labels.SHARED: _("shared equally"),
        labels.WHOLE_MACHINE: _("whole machine"),
    }.get(summary or "", _("not recorded (older session)"))


def attribution_explanation(gpu: str | None, cpu: str | None) -> str:
    """One line per part: how its GPU and its CPU energy were attributed."""
    lines = []
    if gpu is not None:
        lines.append({
            labels.GPU_UTILISATION: _(
                "GPU: only the GPUs its processes used, split with the other programs there by "
                "their share of the GPU's work."),
            labels.GPU_EQUAL: _(
                "GPU: only the GPUs its processes used, shared equally with the other programs "
                "there (the driver does not say how much each one used)."),
            labels.GPU_UNAVAILABLE: _(
                "GPU: shared equally between the sessions: the driver's list of the programs "
                "using it was not available, or could not be matched from a container or "
                "sandbox (process list unavailable)."),
            labels.WHOLE_MACHINE: _("GPU: the whole GPU, not split by program."),
        }.get(gpu, UNKNOWN))
    if cpu is not None:
        lines.append({
            labels.CPU_TIME: _(
                "CPU: its share of the processor time, plus a fair part of the processor's idle "
                "power."),
            labels.WHOLE_MACHINE: _("CPU: the whole processor, not split by program."),
        }.get(cpu, UNKNOWN))
    return "\n".join(lines)


def status_label(status: str | None) -> str:
    return {
        "open": _("running"),
        "complete": _("complete"),
        "recovered": _("recovered after a crash"),
    }.get(status or "", UNKNOWN)


def number(value: float | None, digits: int = 1, approx: bool = False) -> str:
    if value is None:
        return UNKNOWN
    text = fmt.number(value, digits)
    return f"{APPROX}{text}" if approx else text


def energy(wh: float | None, approx: bool = False) -> str:
    """1 decimal in Wh, kWh from 1000 Wh on."""
    if wh is None:
        return _("unknown")
    text = (
        _("{kwh:.2f} kWh").format(kwh=wh / 1000) if wh >= 1000 else _("{wh:.1f} Wh").format(wh=wh)
    )
    return f"{APPROX}{text}" if approx else text


def co2(grams: float | None, approx: bool = False) -> str:
    if grams is None:
        return _("unknown")
    text = (
        _("{kg:.2f} kg CO₂e").format(kg=grams / 1000)
        if grams >= 1000
        else _("{g:.0f} g CO₂e").format(g=grams)
    )
    return f"{APPROX}{text}" if approx else text


def money(amount: float | None, currency: str, approx: bool = False) -> str:
    """€0.12 / 0,12 € / 0.12 CHF: the reminders' own money formatter, so History and a reminder
    never write the same amount two ways."""
    from tray_app.reminders.equivalents import fmt_money

    if amount is None:
        return _("unknown")
    text = fmt_money(amount, currency)
    return f"{APPROX}{text}" if approx else text


def clock_duration(seconds: float | None) -> str:
    """H:MM:SS, as `raison-garder sessions` prints it."""
    return fmt.clock_duration(seconds)


def local_time(ts: float | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return UNKNOWN if ts is None else datetime.fromtimestamp(ts).strftime(fmt)


def images_text(n: int | None) -> str:
    if n is None:
        return _("not counted")
    return ngettext("{n} image", "{n} images", n).format(n=fmt.count(n))
