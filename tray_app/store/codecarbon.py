"""CodeCarbon's `emissions.csv`, both ways: our sessions as its rows, its runs as our sessions.

The columns are those CodeCarbon 3.3.2 writes (its EmissionsData, in that order): a CodeCarbon
dashboard or a pandas script reading several machines' files finds every column it expects. We
fill what we know and leave the rest empty (an empty cell is "unknown", never 0).

Units in that file: duration s, emissions kg CO2eq, emissions_rate kg/s, *_power W, *_energy and
energy_consumed kWh, water_consumed L, *_percent %, ram_used_gb GB. `timestamp` is the run's end
in local time without offset (CodeCarbon writes `datetime.now()` when the run stops).

On import a CodeCarbon run becomes a session of tool `codecarbon:<project_name>`, its energy from
the kWh columns, labelled `estimated`: the file does not say whether CodeCarbon read a counter or
applied its TDP model, so we claim no more than the weakest.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from tray_app.system.i18n import _

FIELDS = (
    "timestamp", "project_name", "run_id", "experiment_id", "duration", "emissions",
    "emissions_rate", "cpu_power", "gpu_power", "ram_power", "cpu_energy", "gpu_energy",
    "ram_energy", "energy_consumed", "water_consumed", "country_name", "country_iso_code",
    "region", "cloud_provider", "cloud_region", "os", "python_version", "codecarbon_version",
    "cpu_count", "cpu_model", "gpu_count", "gpu_model", "longitude", "latitude",
    "ram_total_size", "tracking_mode", "cpu_utilization_percent", "gpu_utilization_percent",
    "ram_utilization_percent", "ram_used_gb", "on_cloud", "pue", "wue",
)  # fmt: skip

# What any CodeCarbon version's file has (2.x lacks the 3.x columns): enough to recognise it.
RECOGNISED_BY = frozenset({"timestamp", "project_name", "duration", "energy_consumed"})
TOOL_PREFIX = "codecarbon:"
_MAX_TOOL = 64  # the store's limit on a tool id


def export_row(s: dict[str, Any]) -> dict[str, Any]:
    """One session as an emissions.csv row; what we don't know stays empty (None)."""
    dur = s.get("duration_s")

    def kwh(wh: float | None) -> float | None:
        return None if wh is None else wh / 1000

    def watts(wh: float | None) -> float | None:
        return None if wh is None or not dur else wh * 3600 / dur

    kg = None if s.get("co2_g") is None else s["co2_g"] / 1000
    end = s.get("end_ts")
    return {
        # Local time without offset, as CodeCarbon writes it.
        "timestamp": None if end is None else datetime.fromtimestamp(end).strftime("%Y-%m-%dT%H:%M:%S"),
        "project_name": s.get("tool"),
        "run_id": s.get("uid"),
        "duration": dur,
        "emissions": kg,
        "emissions_rate": kg / dur if kg is not None and dur else None,
        "cpu_power": watts(s.get("cpu_wh")),
        "gpu_power": watts(s.get("gpu_wh")),
        "cpu_energy": kwh(s.get("cpu_wh")),
        "gpu_energy": kwh(s.get("gpu_wh")),
        "energy_consumed": kwh(s.get("total_wh")),
        "gpu_count": len(s.get("gpu_indices") or []) or None,
        "tracking_mode": "machine",  # device power while the tool ran, not per process
        "on_cloud": "N",  # measured on this machine
        "pue": 1,  # what we multiplied by: nothing (no data-centre overhead is added)
    }


def is_emissions_header(header: Sequence[str]) -> bool:
    return RECOGNISED_BY <= set(header)


Refuse = Callable[[int, str, str], Exception]  # (record number, field, problem) -> exception


def _number(row: dict[str, str], key: str, index: int, refuse: Refuse) -> float | None:
    text = (row.get(key) or "").strip()
    if not text or text.lower() == "nan":  # pandas writes NaN as an empty cell; older files "nan"
        return None
    try:
        value = float(text)
    except ValueError:
        raise refuse(index, key, _("wrong type or value: {value}").format(value=repr(text)[:40])) from None
    if not math.isfinite(value) or value < 0:
        raise refuse(index, key, _("not a finite, reasonable value"))
    return value


def _end_ts(row: dict[str, str], index: int, refuse: Refuse) -> float:
    text = (row.get("timestamp") or "").strip()
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise refuse(
            index, "timestamp", _("wrong type or value: {value}").format(value=repr(text)[:40])
        ) from None
    return when.timestamp()  # naive = local time, as CodeCarbon writes it


def runs_to_records(rows: Sequence[dict[str, str]], refuse: Refuse) -> list[tuple[int, dict[str, Any]]]:
    """(record number, session fields) per run, ready for the exchange module's checks.

    A file written in CodeCarbon's "append" mode may hold several rows of one run (each flush
    writes the totals so far): the longest is the run."""
    best: dict[str, tuple[int, dict[str, Any]]] = {}
    order: list[str] = []
    for index, row in enumerate(rows, start=1):
        duration = _number(row, "duration", index, refuse)
        if duration is None:
            raise refuse(index, "duration", _("must not be empty"))
        end = _end_ts(row, index, refuse)
        energy = {k: _number(row, k, index, refuse)
                  for k in ("cpu_energy", "gpu_energy", "ram_energy", "energy_consumed")}
        gpus = _number(row, "gpu_count", index, refuse)
        gpu_kwh = energy["gpu_energy"]
        if gpu_kwh == 0 and not gpus:
            gpu_kwh = None  # no GPU was tracked: its energy is unknown, not 0
        total = energy["energy_consumed"]
        if total is None and any(v is not None for v in energy.values()):
            total = sum(v for v in energy.values() if v is not None)
        project = (row.get("project_name") or "").strip() or "codecarbon"
        record: dict[str, Any] = {
            "tool": (TOOL_PREFIX + project)[:_MAX_TOOL],
            "start_ts": end - duration,
            "end_ts": end,
            "duration_s": duration,
            "gpu_wh": None if gpu_kwh is None else gpu_kwh * 1000,
            "cpu_wh": None if energy["cpu_energy"] is None else energy["cpu_energy"] * 1000,
            "total_wh": None if total is None else total * 1000,
            "energy_method": "estimated",
            "status": "complete",
        }
        run_id = (row.get("run_id") or "").strip()
        if run_id:
            record["uid"] = run_id
        key = run_id or f"#{index}"
        if key not in best:
            order.append(key)
            best[key] = (index, record)
        elif duration >= best[key][1]["duration_s"]:
            best[key] = (index, record)
    return [best[k] for k in order]
