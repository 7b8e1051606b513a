"""Export sessions (our JSON/CSV, CodeCarbon's emissions.csv) and import them back (our files,
and any CodeCarbon emissions.csv: see tray_app/store/codecarbon.py).

Import is strict and all-or-nothing: every record is checked (types, finite and plausible
numbers, end after start...) before anything is written, and a problem is reported with the file,
the record number and the field. Derived fields (co2_g, cost, started_at...) are ignored on import:
they are recomputed from the settings when read.
"""

from __future__ import annotations

import csv
import io
import json
import math
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

from tray_app.sessions.labels import CPU_LABELS, GPU_LABELS
from tray_app.store import codecarbon
from tray_app.system.i18n import _

EXPORT_FIELDS = (
    "id", "uid", "tool", "exe_name", "pids", "gpu_indices", "start_ts", "end_ts", "started_at",
    "ended_at", "duration_s", "active_s", "unknown_s", "gpu_wh", "cpu_wh", "total_wh", "idle_wh",
    "saved_wh", "idle_baseline_w", "peak_w", "avg_w", "energy_method", "gpu_method", "cpu_method",
    "status", "manual", "images", "machine_wh", "gpu_attribution", "cpu_attribution", "attribution",
    "wh_per_image", "model_family", "model_name", "co2_g", "cost", "currency", "notes",
)  # fmt: skip

# CodeCarbon's emissions.csv columns (3.3.2), in its order: see tray_app/store/codecarbon.py.
CODECARBON_FIELDS = codecarbon.FIELDS

MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_RECORDS = 500_000
MIN_TS = 946_684_800.0  # 2000-01-01: older timestamps are not ours
MAX_SPAN_S = 366 * 86400.0
MAX_WH = 1e7  # 10 MWh in one session: far beyond any workstation
MAX_W = 1e6
REQUIRED = ("tool", "start_ts", "end_ts", "gpu_wh", "cpu_wh")
IGNORED = frozenset({"id", "started_at", "ended_at", "co2_g", "cost", "currency", "attribution"})


class ImportRefused(Exception):
    """The file was refused; the message names the file, the record and the field."""


# -- export ------------------------------------------------------------------------------------


def _row(session: dict[str, Any]) -> dict[str, Any]:
    return {k: session.get(k) for k in EXPORT_FIELDS}


def write_json(sessions: Iterable[dict[str, Any]], out: TextIO) -> None:
    json.dump([_row(s) for s in sessions], out, indent=2, allow_nan=False)
    out.write("\n")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    if isinstance(value, float):
        return repr(value)  # round-trips exactly, so re-import matches the same session
    return str(value)


def write_csv(sessions: Iterable[dict[str, Any]], out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_FIELDS)
    for s in sessions:
        writer.writerow([_cell(s.get(k)) for k in EXPORT_FIELDS])


def codecarbon_row(s: dict[str, Any]) -> dict[str, Any]:
    """One session as a CodeCarbon emissions.csv row; what we don't know stays empty."""
    return codecarbon.export_row(s)


def write_codecarbon(sessions: Iterable[dict[str, Any]], out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CODECARBON_FIELDS)
    for s in sessions:
        row = codecarbon_row(s)
        writer.writerow([_cell(row.get(k)) for k in CODECARBON_FIELDS])


# -- import ------------------------------------------------------------------------------------


def _num(v: Any, csv_text: bool) -> float:
    if csv_text and isinstance(v, str):
        v = float(v)  # ValueError -> "not a number"
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise TypeError
    f = float(v)  # OverflowError for a huge int
    if not math.isfinite(f):
        raise OverflowError
    return f


def _int(v: Any, csv_text: bool) -> int:
    if csv_text and isinstance(v, str):
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError
    return v


def _text(limit: int) -> Any:
    def check(v: Any, _csv: bool) -> str:
        if not isinstance(v, str):
            raise TypeError
        if len(v) > limit or any(ord(c) < 32 and c not in "\t\n" for c in v):
            raise OverflowError
        return v

    return check


def _int_list(v: Any, csv_text: bool) -> list[int]:
    if csv_text and isinstance(v, str):
        v = json.loads(v)
    if not isinstance(v, list) or len(v) > 256:
        raise TypeError
    out = [_int(x, False) for x in v]
    if any(not 0 <= x < 2**31 for x in out):
        raise OverflowError
    return out


def _bool(v: Any, csv_text: bool) -> bool:
    if csv_text and isinstance(v, str):
        if v.lower() in ("true", "1"):
            return True
        if v.lower() in ("false", "0"):
            return False
        raise TypeError
    if not isinstance(v, bool):
        raise TypeError
    return v


def _choice(*allowed: str) -> Any:
    def check(v: Any, _csv: bool) -> str:
        if v not in allowed:
            raise TypeError
        return v

    return check


# field -> (parser, (min, max) for numbers or None)
_FIELDS: dict[str, tuple[Any, tuple[float, float] | None]] = {
    "uid": (_text(100), None),
    "tool": (_text(64), None),
    "exe_name": (_text(255), None),
    "pids": (_int_list, None),
    "gpu_indices": (_int_list, None),
    "start_ts": (_num, (MIN_TS, float("inf"))),
    "end_ts": (_num, (MIN_TS, float("inf"))),
    "duration_s": (_num, (0, MAX_SPAN_S)),
    "active_s": (_num, (0, MAX_SPAN_S)),
    "unknown_s": (_num, (0, MAX_SPAN_S)),
    "gpu_wh": (_num, (0, MAX_WH)),
    "cpu_wh": (_num, (0, MAX_WH)),
    "total_wh": (_num, (0, MAX_WH)),
    "idle_wh": (_num, (0, MAX_WH)),
    "saved_wh": (_num, (0, MAX_WH)),
    "idle_baseline_w": (_num, (0, MAX_W)),
    "peak_w": (_num, (0, MAX_W)),
    "avg_w": (_num, (0, MAX_W)),
    "energy_method": (_choice("counter", "sampled", "estimated", "mixed"), None),
    "gpu_method": (_choice("counter", "sampled", "estimated"), None),
    "cpu_method": (_choice("counter", "sampled", "estimated"), None),
    "machine_wh": (_num, (0, MAX_WH)),
    "gpu_attribution": (_choice(*GPU_LABELS), None),
    "cpu_attribution": (_choice(*CPU_LABELS), None),
    "status": (_choice("complete", "recovered"), None),
    "manual": (_bool, None),
    "images": (_int, (0, 1e9)),
    "wh_per_image": (_num, (0, MAX_WH)),
    "model_family": (_text(200), None),
    "model_name": (_text(200), None),
    "notes": (_text(10_000), None),
}
_NULLABLE_REQUIRED = frozenset({"gpu_wh", "cpu_wh"})  # present, but null = not measured


def _refuse(path: Path, index: int | None, field: str | None, problem: str) -> ImportRefused:
    if index is None:
        return ImportRefused(_("{file}: {problem}").format(file=path, problem=problem))
    if field is None:
        return ImportRefused(
            _("{file}, record {index}: {problem}").format(file=path, index=index, problem=problem)
        )
    return ImportRefused(
        _("{file}, record {index}, field '{field}': {problem}").format(
            file=path, index=index, field=field, problem=problem
        )
    )


def validate(raw: Any, path: Path, index: int, csv_text: bool, now: float) -> dict[str, Any]:
    """One record -> store fields, or ImportRefused naming the record (1-based) and field."""
    if not isinstance(raw, dict):
        raise _refuse(path, index, None, _("expected an object with session fields"))
    for key in REQUIRED:
        if key not in raw:
            raise _refuse(path, index, key, _("missing (not a Raison Garder session?)"))
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key in IGNORED or key not in _FIELDS:
            continue  # derived, or from a newer version: recomputed / unknown here
        if value is None or (csv_text and value == ""):
            if key in REQUIRED and key not in _NULLABLE_REQUIRED:
                raise _refuse(path, index, key, _("must not be empty"))
            continue
        parser, bounds = _FIELDS[key]
        try:
            parsed = parser(value, csv_text)
        except (TypeError, ValueError):
            raise _refuse(
                path, index, key, _("wrong type or value: {value}").format(value=repr(value)[:40])
            ) from None
        except OverflowError:
            raise _refuse(path, index, key, _("not a finite, reasonable value")) from None
        if bounds is not None and not bounds[0] <= parsed <= bounds[1]:
            raise _refuse(
                path,
                index,
                key,
                _("{value} is outside {low:g}..{high:g}").format(
                    value=parsed, low=bounds[0], high=bounds[1]
                ),
            )
        out[key] = parsed
    if not out["tool"].strip():
        raise _refuse(path, index, "tool", _("must not be empty"))
    start, end = out["start_ts"], out["end_ts"]
    if end < start:
        raise _refuse(path, index, "end_ts", _("ends before it starts"))
    if end - start > MAX_SPAN_S:
        raise _refuse(path, index, "end_ts", _("lasts more than a year"))
    if end > now + 86400:
        raise _refuse(path, index, "end_ts", _("is in the future"))
    out.setdefault("duration_s", end - start)
    if "total_wh" not in out and ("gpu_wh" in out or "cpu_wh" in out):
        out["total_wh"] = out.get("gpu_wh", 0.0) + out.get("cpu_wh", 0.0)
    return out


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def read_import(path: Path | str, now: float | None = None) -> list[dict[str, Any]]:
    """Parse and check a whole file (JSON array or CSV). Raises ImportRefused."""
    path = Path(path)
    now = time.time() if now is None else now
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise _refuse(
                path,
                None,
                None,
                _("too large ({mb:.0f} MB; the limit is {limit} MB)").format(
                    mb=size / 1e6, limit=MAX_FILE_BYTES // 1_000_000
                ),
            )
        data = path.read_bytes()
    except OSError as exc:
        raise _refuse(path, None, None, exc.strerror or str(exc)) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _refuse(path, None, None, _("not a text file (JSON or CSV expected)")) from None
    if text.lstrip()[:1] in ("[", "{"):
        try:
            # NaN/Infinity are not JSON: refuse them rather than store them.
            records = json.loads(text, parse_constant=_reject_constant)
        except (ValueError, RecursionError) as exc:
            raise _refuse(
                path, None, None, _("not valid JSON ({error})").format(error=str(exc)[:80])
            ) from None
        if not isinstance(records, list):
            raise _refuse(
                path, None, None, _("not a Raison Garder export (expected a list of sessions)")
            )
        csv_text = False
    else:
        try:
            reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
            header = reader.fieldnames or []
            missing = [k for k in REQUIRED if k not in header]
            if missing and codecarbon.is_emissions_header(header):
                return _read_emissions(path, reader, now)
            if missing:
                raise _refuse(
                    path,
                    None,
                    None,
                    _("neither a Raison Garder export nor a CodeCarbon emissions.csv (missing "
                      "column(s): {columns})").format(
                        columns=", ".join(missing)
                    ),
                )
            records = []
            for row in reader:
                if None in row:
                    raise csv.Error(_("a row has more cells than the header"))
                records.append(row)
                if len(records) > MAX_RECORDS:
                    break
        except csv.Error as exc:
            raise _refuse(
                path, None, None, _("not valid CSV ({error})").format(error=str(exc)[:80])
            ) from None
        csv_text = True
    if len(records) > MAX_RECORDS:
        raise _refuse(
            path, None, None, _("too many sessions (more than {limit})").format(limit=MAX_RECORDS)
        )
    return [validate(r, path, i, csv_text, now) for i, r in enumerate(records, start=1)]


def _read_emissions(path: Path, reader: csv.DictReader, now: float) -> list[dict[str, Any]]:
    """A CodeCarbon emissions.csv (CodeCarbon's own or our export): its runs as sessions."""
    rows = []
    for row in reader:
        if None in row:
            raise csv.Error(_("a row has more cells than the header"))
        rows.append(row)
        if len(rows) > MAX_RECORDS:
            raise _refuse(
                path, None, None, _("too many sessions (more than {limit})").format(limit=MAX_RECORDS)
            )
    runs = codecarbon.runs_to_records(
        rows, lambda index, field, problem: _refuse(path, index, field, problem)
    )
    return [validate(record, path, index, False, now) for index, record in runs]
