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
import re
import sys
import time
from collections.abc import Iterable
from itertools import accumulate
from pathlib import Path
from typing import Any, BinaryIO, TextIO

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
MAX_JSON_DEPTH = 8  # an export is [ {session, "generations": [ {generation} ], "pids": [..]} ]
MAX_LIST_CHARS = 4096  # 256 pids or GPU indices, as JSON text in a CSV cell
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


# A generation as exported: its session is named by uid, so an import elsewhere can link it.
GENERATION_FIELDS = (
    "session_uid", "key", "tool", "start_ts", "end_ts", "window", "images", "batch", "gpu_wh",
    "cpu_wh", "total_wh", "wh_per_image", "model_name", "model_family", "steps", "sampler",
    "width", "height",
)  # fmt: skip


def _generation_row(g: dict[str, Any]) -> dict[str, Any]:
    return {k: g.get(k) for k in GENERATION_FIELDS}


def write_json(
    sessions: Iterable[dict[str, Any]],
    out: TextIO,
    generations: Iterable[dict[str, Any]] | None = None,
) -> None:
    """A JSON array of sessions; with `generations` (rows carrying `session_uid`), each
    session object holds its own under "generations"."""
    by_uid: dict[str, list[dict[str, Any]]] | None = None
    if generations is not None:
        by_uid = {}
        for g in generations:
            row = _generation_row(g)
            by_uid.setdefault(row.pop("session_uid"), []).append(row)
    rows = []
    for s in sessions:
        row = _row(s)
        if by_uid is not None:
            row["generations"] = by_uid.get(str(s.get("uid")), [])
        rows.append(row)
    json.dump(rows, out, indent=2, allow_nan=False)
    out.write("\n")


def generations_csv_path(path: Path | str) -> Path:
    """Where a CSV export keeps its generations: beside it, `name.generations.csv`."""
    path = Path(path)
    return path.with_name(path.stem + ".generations.csv")


def write_generations_csv(generations: Iterable[dict[str, Any]], out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(GENERATION_FIELDS)
    for g in generations:
        writer.writerow([_cell(g.get(k)) for k in GENERATION_FIELDS])


# A text cell starting with one of these is a formula to a spreadsheet (`=cmd|' /C calc'!A0`,
# `=HYPERLINK(...)`, `@SUM(...)`): OWASP's advice is a leading apostrophe, which spreadsheets
# show as text. Numbers are never text here, so -5 stays a number.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _needs_quote(text: str) -> bool:
    # A text already starting with the apostrophe before a trigger is quoted again, so that
    # `_unquote` gives back exactly what was exported.
    return text.startswith(FORMULA_START) or (text[:1] == "'" and text[1:].startswith(FORMULA_START))


def _unquote(text: str) -> str:
    """The text a CSV cell held before `_cell` neutralised it (import of our own CSV)."""
    return text[1:] if text[:1] == "'" and _needs_quote(text[1:]) else text


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    if isinstance(value, float):
        return repr(value)  # round-trips exactly, so re-import matches the same session
    if isinstance(value, int):
        return str(value)
    text = str(value)
    return "'" + text if _needs_quote(text) else text


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
    def check(v: Any, csv_text: bool) -> str:
        if not isinstance(v, str):
            raise TypeError
        if csv_text:
            v = _unquote(v)
        if len(v) > limit or any(ord(c) < 32 and c not in "\t\n" for c in v):
            raise OverflowError
        return v

    return check


def _int_list(v: Any, csv_text: bool) -> list[int]:
    if csv_text and isinstance(v, str):
        # A flat list of small ints: anything longer or nested is refused before parsing
        # (a cell nested 1200 deep made json.loads raise RecursionError).
        if len(v) > MAX_LIST_CHARS or json_depth(v) > 1:
            raise OverflowError
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

_GENERATION_FIELDS: dict[str, tuple[Any, tuple[float, float] | None]] = {
    "session_uid": (_text(100), None),
    "key": (_text(100), None),
    "tool": (_text(64), None),
    "start_ts": (_num, (MIN_TS, float("inf"))),
    "end_ts": (_num, (MIN_TS, float("inf"))),
    "window": (_choice("exact", "approximate"), None),
    "images": (_int, (0, 1e6)),
    "batch": (_int, (1, 1e6)),
    "gpu_wh": (_num, (0, MAX_WH)),
    "cpu_wh": (_num, (0, MAX_WH)),
    "total_wh": (_num, (0, MAX_WH)),
    "model_name": (_text(200), None),
    "model_family": (_text(200), None),
    "steps": (_int, (1, 100_000)),
    "sampler": (_text(60), None),
    "width": (_int, (1, 1_000_000)),
    "height": (_int, (1, 1_000_000)),
}
GENERATION_REQUIRED = ("session_uid", "key", "start_ts", "end_ts", "window", "images")


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


def _parse_fields(
    raw: dict[str, Any],
    table: dict[str, tuple[Any, tuple[float, float] | None]],
    required: tuple[str, ...],
    path: Path,
    index: int,
    csv_text: bool,
    nullable: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key in IGNORED or key not in table:
            continue  # derived, or from a newer version: recomputed / unknown here
        if value is None or (csv_text and value == ""):
            if key in required and key not in nullable:
                raise _refuse(path, index, key, _("must not be empty"))
            continue
        parser, bounds = table[key]
        try:
            parsed = parser(value, csv_text)
        except (TypeError, ValueError):
            raise _refuse(
                path, index, key, _("wrong type or value: {value}").format(value=repr(value)[:40])
            ) from None
        except (OverflowError, RecursionError):
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
    return out


def _check_span(path: Path, index: int, out: dict[str, Any], now: float) -> None:
    start, end = out["start_ts"], out["end_ts"]
    if end < start:
        raise _refuse(path, index, "end_ts", _("ends before it starts"))
    if end - start > MAX_SPAN_S:
        raise _refuse(path, index, "end_ts", _("lasts more than a year"))
    if end > now + 86400:
        raise _refuse(path, index, "end_ts", _("is in the future"))


def validate(raw: Any, path: Path, index: int, csv_text: bool, now: float) -> dict[str, Any]:
    """One record -> store fields, or ImportRefused naming the record (1-based) and field."""
    if not isinstance(raw, dict):
        raise _refuse(path, index, None, _("expected an object with session fields"))
    for key in REQUIRED:
        if key not in raw:
            raise _refuse(path, index, key, _("missing (not a Raison Garder session?)"))
    out = _parse_fields(raw, _FIELDS, REQUIRED, path, index, csv_text, _NULLABLE_REQUIRED)
    if not out["tool"].strip():
        raise _refuse(path, index, "tool", _("must not be empty"))
    _check_span(path, index, out, now)
    out.setdefault("duration_s", out["end_ts"] - out["start_ts"])
    if "total_wh" not in out and ("gpu_wh" in out or "cpu_wh" in out):
        out["total_wh"] = out.get("gpu_wh", 0.0) + out.get("cpu_wh", 0.0)
    return out


def validate_generation(
    raw: Any, path: Path, index: int, csv_text: bool, now: float
) -> dict[str, Any]:
    """One exported generation -> store fields (with `session_uid`), or ImportRefused."""
    if not isinstance(raw, dict):
        raise _refuse(path, index, None, _("expected an object with generation fields"))
    for key in GENERATION_REQUIRED:
        if key not in raw:
            raise _refuse(path, index, key, _("missing (not a Raison Garder generation?)"))
    out = _parse_fields(raw, _GENERATION_FIELDS, GENERATION_REQUIRED, path, index, csv_text)
    _check_span(path, index, out, now)
    return out


STDIN = "-"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def read_import(path: Path | str, now: float | None = None) -> list[dict[str, Any]]:
    """Parse and check a whole file (JSON array or CSV). Raises ImportRefused."""
    return read_import_all(path, now)[0]


def read_import_all(
    path: Path | str, now: float | None = None, stdin: BinaryIO | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Sessions and their generations (nested in JSON; beside a CSV, `name.generations.csv`),
    all checked before anything is written. "-" reads standard input (`import -`, as `export`
    writes to standard output). Raises ImportRefused."""
    from_stdin = str(path) == STDIN
    # For standard input, `path` only names the source in messages; nothing is opened by it.
    path = Path(_("standard input")) if from_stdin else Path(path)
    now = time.time() if now is None else now
    data = read_stream(path, stdin or sys.stdin.buffer, MAX_FILE_BYTES) if from_stdin else None
    records, kind = _read_records(path, REQUIRED, _("sessions"), now, data)
    if kind == "emissions":  # CodeCarbon runs, already checked: no generations there
        return records, []
    sessions = [validate(r, path, i, kind == "csv", now) for i, r in enumerate(records, start=1)]
    generations: list[dict[str, Any]] = []
    if kind == "json":
        from tray_app.store.core import import_uid

        seen: dict[tuple[str, float, float], int] = {}
        for i, (raw, session) in enumerate(zip(records, sessions, strict=True), start=1):
            if not session.get("uid"):  # as Store.import_sessions would name it
                key = (session["tool"], session["start_ts"], session["end_ts"])
                nth = seen[key] = seen.get(key, -1) + 1
                session["uid"] = import_uid(*key) if nth == 0 else import_uid(*key, nth=nth)
            nested = raw.get("generations") or []
            if not isinstance(nested, list):
                raise _refuse(path, i, "generations", _("expected a list of generations"))
            for g in nested:
                if isinstance(g, dict):
                    g = {**g, "session_uid": session["uid"], "tool": g.get("tool") or session["tool"]}
                generations.append(validate_generation(g, path, i, False, now))
    else:
        side = generations_csv_path(path)
        if not from_stdin and side.exists():
            rows, _kind = _read_records(side, GENERATION_REQUIRED, _("generations"), now)
            generations = [
                validate_generation(r, side, i, True, now) for i, r in enumerate(rows, start=1)
            ]
    return sessions, generations


def read_stream(path: Path, stream: BinaryIO, limit: int) -> bytes:
    """At most `limit` bytes of an open stream (standard input), or ImportRefused."""
    try:
        data = stream.read(limit + 1)
    except OSError as exc:
        raise _refuse(path, None, None, exc.strerror or str(exc)) from None
    if len(data) > limit:
        raise _refuse(
            path, None, None,
            _("too large (more than {limit} MB)").format(limit=limit // 1_000_000),
        )
    return data


def read_limited(path: Path, limit: int) -> bytes:
    """The bytes of a regular file of at most `limit` bytes, or ImportRefused. A pipe would
    block forever and /dev/zero never ends: only regular files are read, and never more than
    `limit` + 1 bytes, whatever their size claims."""
    import os
    import stat

    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)  # O_NONBLOCK: opening a FIFO does not wait for a writer
    except OSError as exc:
        raise _refuse(path, None, None, exc.strerror or str(exc)) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise _refuse(path, None, None, _("not a regular file (a folder, a pipe or a device)"))
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise _refuse(path, None, None, exc.strerror or str(exc)) from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise _refuse(
            path, None, None,
            _("too large (more than {limit} MB)").format(limit=limit // 1_000_000),
        )
    return data


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def json_depth(text: str) -> int:
    """How deeply `text` nests arrays and objects, counted before any parsing (strings are
    left out, so brackets inside them do not count)."""
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    return max(accumulate(1 if c in "[{" else -1 for c in brackets), default=0)


def _read_records(
    path: Path, required: tuple[str, ...], what: str, now: float, data: bytes | None = None
) -> tuple[list[Any], str]:
    """The raw records of a JSON array or CSV file (or of `data` already read), and which it
    was ("json", "csv"); a CodeCarbon emissions.csv comes back as checked sessions ("emissions")."""
    if data is None:
        data = read_limited(path, MAX_FILE_BYTES)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _refuse(path, None, None, _("not a text file (JSON or CSV expected)")) from None
    if text.lstrip()[:1] in ("[", "{"):
        if json_depth(text) > MAX_JSON_DEPTH:
            raise _refuse(path, None, None, _("not a Raison Garder export (JSON nested too deeply)"))
        try:
            # NaN/Infinity are not JSON: refuse them rather than store them.
            records = json.loads(text, parse_constant=_reject_constant)
        except (ValueError, RecursionError) as exc:
            raise _refuse(
                path, None, None, _("not valid JSON ({error})").format(error=str(exc)[:80])
            ) from None
        if not isinstance(records, list):
            raise _refuse(
                path,
                None,
                None,
                _("not a Raison Garder export (expected a list of {what})").format(what=what),
            )
        kind = "json"
    else:
        try:
            reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
            header = reader.fieldnames or []
            missing = [k for k in required if k not in header]
            if missing and required is REQUIRED and codecarbon.is_emissions_header(header):
                return _read_emissions(path, reader, now), "emissions"
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
        kind = "csv"
    if len(records) > MAX_RECORDS:
        raise _refuse(
            path,
            None,
            None,
            _("too many {what} (more than {limit})").format(what=what, limit=MAX_RECORDS),
        )
    return records, kind


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
