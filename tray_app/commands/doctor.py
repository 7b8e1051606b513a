"""`raison-garder doctor [--json]`: what was found on this machine, and why not more.

Finding nothing is an answer, not a failure: the exit status is 0 whatever is found.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from tray_app.system.i18n import _


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "doctor",
        help=_("explain what can be measured on this machine, and how"),
        description=_(
            "Explain what can be measured on this machine: which GPUs and CPU sensors were "
            "found, which figures will be measured and which estimated, and why not more. "
            "Finding nothing is an answer, not an error: the exit status is 0."
        ),
    )
    p.add_argument("--json", action="store_true", help=_("print machine-readable JSON"))


def _tray_available() -> tuple[bool | None, str | None]:
    from tray_app.cli import has_display
    from tray_app.system.ui_state import read_ui_state

    if not has_display():
        return False, _("no display: the headless monitor is used")
    state = read_ui_state()
    if "tray_available" in state:
        return bool(state["tray_available"]), None
    return None, _("unknown until the tray app has run once")


def collect() -> dict[str, Any]:
    from tray_app.config.file import load_settings
    from tray_app.measure.sensors.discovery import discover
    from tray_app.metrics.config import metrics_status
    from tray_app.system import paths

    settings = load_settings()  # never raises: a folder problem becomes one of its problems
    found = discover(settings.typed.cpu_tdp_w or None)
    data_dir = paths.data_dir(create=False)
    config_dir = paths.config_dir(create=False)
    try:
        try:
            tray, tray_reason = _tray_available()
        except OSError:
            tray, tray_reason = None, _("unknown until the tray app has run once")
        report: dict[str, Any] = {
            "gpus": found.gpus,
            "gpu_error": found.gpu_error,
            "other_gpu_error": found.other_gpu_error,
            "cpu": found.cpu,
            "tray_available": tray,
            "tray_reason": tray_reason,
            "data_dir": str(data_dir),
            "config_dir": str(config_dir),
            # Why a folder cannot be used (None: fine, or created at first use); nothing is made.
            "data_dir_problem": paths.folder_problem(data_dir, paths.ENV_DATA_DIR),
            "config_dir_problem": paths.folder_problem(config_dir, paths.ENV_CONFIG_DIR),
            "settings_file": str(settings.path),
            "settings_problems": list(settings.problems),
            "metrics": metrics_status(settings.typed),
            "scan_scope": _scan_scope(),
        }
    finally:
        found.close()
    return report


def _scan_scope() -> list[int] | None:
    from tray_app.detect.scanner import scan_scope

    scope = scan_scope()
    return None if scope is None else sorted(scope)


def _yes_no(flag: bool | None) -> str:
    return _("unknown") if flag is None else (_("yes") if flag else _("no"))


def tdp_source_text(source: str | None) -> str:
    """Where the CPU's rated power comes from, in words (the JSON keeps the machine value)."""
    if not source:
        return "?"
    if source == "default":
        return _("a generic default; set cpu_tdp_w for your CPU")
    if source == "settings":
        return _("from the settings")
    if source.startswith("table:"):
        return _("known model {model}").format(model=source.removeprefix("table:"))
    return source


def render(r: dict[str, Any]) -> str:
    lines = [_("Raison Garder doctor"), ""]
    lines.append(_("GPUs:"))
    if r["gpus"]:
        for g in r["gpus"]:
            if g.get("energy_counter"):
                energy = _("hardware energy counter")
            elif g.get("power_samples"):
                energy = _("the driver's own power samples (no energy counter)")
            else:
                energy = _("power samples (no energy counter)")
            limit = g.get("power_limit_w")
            limit_txt = _(", power limit {w:.0f} W").format(w=limit) if limit else ""
            lines.append(f"  • {g.get('name')}: {energy}{limit_txt}")
            # How its energy can be split between programs (only NVML GPUs say).
            if g.get("process_list") is False and g.get("pid_namespace"):
                lines.append("    " + _("this app runs in a container or sandbox of its own (a PID "
                                          "namespace): the driver's list of programs cannot be "
                                          "matched with yours, so sessions share this GPU "
                                          "equally"))
            elif g.get("process_list") is False:
                lines.append("    " + _("the driver gives no list of the programs using it: "
                                          "sessions share this GPU equally"))
            elif g.get("process_utilisation") is False:
                lines.append("    " + _("the driver does not say how much each program uses it: "
                                          "programs sharing it are counted equally"))
    else:
        lines.append("  " + _("none found"))
    if r["gpu_error"]:
        lines.append("  " + _("NVIDIA: {reason}").format(reason=r["gpu_error"]))
    cpu = r["cpu"]
    lines.append(_("CPU:"))
    if cpu.get("method") == "rapl":
        lines.append("  " + _("measured by RAPL energy counters: {domains}").format(domains=", ".join(cpu.get("domains", []))))
    else:
        tdp = cpu.get("tdp_w")
        tdp_txt = _(" (TDP {w:.0f} W, {source})").format(w=tdp, source=tdp_source_text(cpu.get("tdp_source"))) if tdp else ""
        lines.append("  " + _("estimated from CPU utilisation{tdp} — not a measurement").format(tdp=tdp_txt))
        if cpu.get("reason"):
            lines.append("  " + _("why: {reason}").format(reason=cpu["reason"]))
    lines.append(_("System tray available: {v}").format(v=_yes_no(r["tray_available"])) + (f" ({r['tray_reason']})" if r.get("tray_reason") else ""))
    m = r.get("metrics") or {}
    if m.get("enabled") and m.get("url"):
        # doctor is not the app: say what the app will do, not that something listens now.
        if m.get("bind") in ("0.0.0.0", "::"):
            lines.append(_("Metrics endpoint: enabled; while the tray or `raison-garder monitor` "
                           "runs, it listens on every address of this machine, port {port} "
                           "(http://<this machine>:{port}/metrics).").format(port=m["port"]))
        else:
            lines.append(_("Metrics endpoint: enabled; served at {url} while the tray or "
                           "`raison-garder monitor` runs (nothing listens otherwise).").format(
                url=m["url"]))
    else:
        lines.append(_("Metrics endpoint: off"))
    if m.get("warning"):
        lines.append("  " + m["warning"])
    lines.append(_("Tools: recognised by their folders and command lines; a Python script on the "
                   "GPU whose file imports diffusers counts as a diffusers run. Jupyter notebooks "
                   "are not recognised by themselves: start a manual session from the tray, or "
                   "add a pattern, e.g. `raison-garder config set tools.extra_patterns "
                   "'[{\"name\": \"notebooks\", \"match\": \"ipykernel_launcher\"}]'`."))
    if r.get("scan_scope") is not None:
        lines.append("  ! " + _(
            "RAISON_GARDER_SCAN_SCOPE is set (a testing aid): tools are looked for only among "
            "processes {pids} and their descendants. Unset it for everyday use."
        ).format(pids=", ".join(map(str, r["scan_scope"])) or "-"))
    lines.append(_("Data folder: {path}").format(path=r["data_dir"]))
    if r.get("data_dir_problem"):
        lines.append("  ! " + r["data_dir_problem"])
    lines.append(_("Settings file: {path}").format(path=r["settings_file"]))
    if r.get("config_dir_problem") and not any(
        r["config_dir_problem"] in p for p in r.get("settings_problems", [])
    ):
        lines.append("  ! " + r["config_dir_problem"])
    for p in r.get("settings_problems", []):
        lines.append("  ! " + p)
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    report = collect()
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        print(render(report))
    return 0
