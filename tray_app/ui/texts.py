"""The words the tray shows: tooltip, menu status lines, About details. Pure functions of a
status, so they are tested without Qt. Unknown values are said to be unknown, never 0."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from tray_app import APP_NAME
from tray_app.system import fmt
from tray_app.system.i18n import _, ngettext

RELEASE_SHOWN_S = 600.0  # how long the menu keeps saying what the last "free" did


def method_text(method: Any) -> str:
    value = getattr(method, "value", method)
    return {
        "counter": _("measured (energy counter)"),
        "sampled": _("measured (power samples)"),
        "estimated": _("estimated"),
    }.get(str(value), str(value))


def watts_text(w: float | None) -> str:
    return _("unknown") if w is None else _("{w:.0f} W").format(w=w)


def wh_text(wh: float | None) -> str:
    if wh is None:
        return _("unknown")
    if wh >= 1000:
        return _("{kwh:.2f} kWh").format(kwh=wh / 1000)
    return _("{wh:.1f} Wh").format(wh=wh)


def duration_text(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 60:
        return ngettext("{n} min", "{n} min", minutes).format(n=minutes)
    return _("{h} h {m:02d}").format(h=minutes // 60, m=minutes % 60)


def clock_text(epoch: float) -> str:
    return time.strftime("%H:%M", time.localtime(epoch))


def session_text(session: Any) -> str:
    parts = [str(session.tool_label), duration_text(session.duration_s), wh_text(session.total_wh)]
    if session.images is not None:
        parts.append(ngettext("{n} image", "{n} images", session.images).format(n=session.images))
        if session.images > 0:
            parts.append(_("{wh:.2f} Wh per image").format(wh=session.total_wh / session.images))
    if str(getattr(session.method, "value", session.method)) == "estimated":
        # GPU measured, CPU estimated (the common case without RAPL) is not "estimated".
        measured_gpu = getattr(session, "gpu_method", None) in ("counter", "sampled")
        parts.append(_("partly estimated") if measured_gpu else _("estimated"))
    return " · ".join(parts)


def source_lines(sources: Iterable[Any]) -> list[str]:
    lines = []
    for src in sources:
        line = _("{label}: {power} ({method})").format(
            label=src.label, power=watts_text(src.power_w), method=method_text(src.method)
        )
        if src.power_w is None and src.error:
            line += " — " + str(src.error)
        lines.append(line)
    return lines


def now_line(status: Any) -> str:
    snap = status.snapshot
    if status.monitoring_paused or snap.paused:
        return _("Monitoring paused")
    line = _("Now: {power}").format(power=watts_text(snap.total_w))
    methods = {str(getattr(s.method, "value", s.method)) for s in snap.sources if s.power_w is not None}
    if methods == {"estimated"}:
        line += " (" + _("estimated") + ")"
    elif "estimated" in methods:
        line += " (" + _("partly estimated") + ")"
    return line


def idle_waste_line(waste: Any) -> str:
    """"ComfyUI idle, holding 8.2 GB: +48 W, about 1.2 kWh a day if left"."""
    from tray_app.idle.release import gigabytes
    from tray_app.reminders.equivalents import fmt_energy, fmt_number

    day_wh = waste.kwh_per_day * 1000.0
    day = (
        fmt.with_unit(fmt_number(day_wh / 1000, 1), "kWh")
        if round(day_wh) >= 1000
        else fmt_energy(day_wh)
    )
    if waste.holding_mb is None:
        return _("{tool} idle, holding the GPU: +{watts} W, about {energy} a day if left").format(
            tool=waste.label, watts=fmt_number(waste.extra_w), energy=day)
    return _("{tool} idle, holding {memory}: +{watts} W, about {energy} a day if left").format(
        tool=waste.label, memory=gigabytes(waste.holding_mb), watts=fmt_number(waste.extra_w), energy=day)


def release_line(status: Any) -> str | None:
    """While freeing: say so; afterwards, what it did (until the next status without it)."""
    if getattr(status, "releasing", False):
        return _("Freeing GPU memory…")
    outcome = getattr(status, "last_release", None)
    if outcome is not None and time.time() - outcome.ts < RELEASE_SHOWN_S:
        return outcome.message()
    return None


def status_lines(status: Any) -> list[str]:
    """The disabled lines at the top of the menu."""
    lines = [now_line(status)]
    if status.session is not None:
        lines.append(_("Session: {details}").format(details=session_text(status.session)))
    else:
        lines.append(_("No session running"))
    lines.extend(idle_waste_line(w) for w in getattr(status, "idle_waste", ()) or ())
    released = release_line(status)
    if released:
        lines.append(released)
    today = _("Today: {energy}").format(energy=wh_text(status.today_wh))
    if status.budget_fraction is not None:
        today += " · " + _("{pct:.0f} % of budget").format(pct=100 * status.budget_fraction)
    lines.append(today)
    if status.reminders_snoozed_until and status.reminders_snoozed_until > time.time():
        lines.append(
            _("Reminders paused until {time}").format(time=clock_text(status.reminders_snoozed_until))
        )
    held = len(status.held_reminders or ())
    if held:
        lines.append(
            ngettext("{n} reminder held back (do not disturb)",
                     "{n} reminders held back (do not disturb)", held).format(n=held)
        )
    return lines


def tooltip_text(status: Any | None) -> str:
    """Watts per source, the session, today's energy. Plain text, one fact per line."""
    if status is None:
        return "\n".join([APP_NAME, _("Starting the measurement…")])
    lines = [APP_NAME]
    if status.monitoring_paused or status.snapshot.paused:
        lines.append(_("Monitoring paused"))
    else:
        lines.extend(source_lines(status.snapshot.sources))
    if status.session is not None:
        lines.append(_("Session: {details}").format(details=session_text(status.session)))
    lines.append(_("Today: {energy}").format(energy=wh_text(status.today_wh)))
    return "\n".join(lines)


def measured_vs_estimated(sources: Iterable[Any]) -> list[str]:
    """For About: what is measured and what is estimated on this machine, per source."""
    lines = []
    for src in sources:
        value = str(getattr(src.method, "value", src.method))
        if value == "estimated":
            what = _("{label}: estimated from utilisation, not measured").format(label=src.label)
        else:
            what = _("{label}: {method}").format(label=src.label, method=method_text(src.method))
        lines.append(what)
    return lines or [_("No power source found yet.")]
