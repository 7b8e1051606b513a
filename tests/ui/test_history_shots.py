"""Screenshots of every History view on a real X server (Xvfb), for a human to look at:
overview, year calendar with a day picked, session detail, empty state, dark theme, French.

The window runs in a child process on the xcb platform (pytest's own QApplication is offscreen);
the child takes each screenshot itself with ImageMagick's `import`, right after painting.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHOTS_DIR = Path("/tmp/rg-shots")
VIEWS = ("overview", "year", "detail", "empty", "dark", "fr")


@pytest.mark.xvfb
@pytest.mark.slow
def test_every_view_is_painted_on_a_real_display(tmp_path):
    from tests.fixtures.xvfb import run_shots_child, shots_display

    with shots_display() as desktop:
        proc = run_shots_child(desktop, "tests.ui.test_history_shots", tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    SHOTS_DIR.mkdir(parents=True, exist_ok=True)
    for view in VIEWS:
        shot = tmp_path / "shots" / f"history-{view}.png"
        assert shot.exists(), view
        shutil.copyfile(shot, SHOTS_DIR / shot.name)
    # What is on screen, not only how big the files are: Xvfb's bare root is black.
    px = {view: _pixels(tmp_path / "shots" / f"history-{view}.png") for view in VIEWS}
    for view in VIEWS:
        assert len(set(px[view])) > 30, f"{view}: a flat screen, nothing drawn?"
    light = ("overview", "year", "detail", "empty", "fr")
    for view in light:
        assert _luma(px[view]) > 0.6, f"{view}: not the light window"
    assert _luma(px["dark"]) < 0.35, "the dark palette was not applied"
    for a, b in (("overview", "year"), ("overview", "detail"), ("overview", "empty"),
                 ("overview", "fr"), ("year", "detail")):
        assert _changed(px[a], px[b]) > 0.03, f"{a} and {b} look the same"
    # The empty state is mostly bare background, unlike a window full of charts and rows.
    assert len(set(px["empty"])) < len(set(px["overview"]))


def _pixels(path: Path) -> list[tuple[int, int, int]]:
    """The screenshot shrunk to 240x172, as RGB triples."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage

    img = QImage(str(path))
    assert not img.isNull(), path
    img = img.scaled(240, 172, Qt.AspectRatioMode.IgnoreAspectRatio,
                     Qt.TransformationMode.FastTransformation).convertToFormat(QImage.Format.Format_RGB888)
    raw = bytes(img.constBits())
    line = img.bytesPerLine()
    return [tuple(raw[y * line + 3 * x : y * line + 3 * x + 3]) for y in range(img.height())
            for x in range(img.width())]


def _luma(px: list[tuple[int, int, int]]) -> float:
    return sum(0.299 * r + 0.587 * g + 0.114 * b for r, g, b in px) / (255 * len(px))


def _changed(a: list[tuple[int, int, int]], b: list[tuple[int, int, int]]) -> float:
    differs = (sum(abs(x - y) for x, y in zip(p, q, strict=True)) > 60 for p, q in zip(a, b, strict=True))
    return sum(differs) / len(a)


# ---- the child process ------------------------------------------------------------------------
def _dark_palette():
    from PySide6.QtGui import QColor, QPalette

    pal = QPalette()
    roles = QPalette.ColorRole
    for role, colour in (
        (roles.Window, "#2b2b2b"), (roles.WindowText, "#e6e6e6"), (roles.Base, "#1e1e1e"),
        (roles.AlternateBase, "#262626"), (roles.Text, "#e6e6e6"), (roles.Button, "#353535"),
        (roles.ButtonText, "#e6e6e6"), (roles.Highlight, "#3d6fa8"),
        (roles.HighlightedText, "#ffffff"), (roles.PlaceholderText, "#9a9a9a"),
        (roles.ToolTipBase, "#353535"), (roles.ToolTipText, "#e6e6e6"), (roles.Mid, "#555555"),
    ):  # fmt: skip
        pal.setColor(role, QColor(colour))
    for role in (roles.WindowText, roles.Text, roles.ButtonText):  # as dark desktop themes do
        pal.setColor(QPalette.ColorGroup.Disabled, role, QColor("#7a7a7a"))
    return pal


def _main(out: Path) -> int:
    os.environ["QT_QPA_PLATFORM"] = "xcb"  # tests/ui/__init__ asked for offscreen
    import time

    from PySide6.QtWidgets import QApplication

    from tests.fixtures.history_store import seed_store
    from tray_app.store import Store
    from tray_app.system import i18n
    from tray_app.ui.history.window import HistoryWindow

    out.mkdir(parents=True, exist_ok=True)
    app = QApplication(["raison-garder"])
    app.setStyle("Fusion")
    data = Path(os.environ["RAISON_GARDER_DATA_DIR"])
    data.mkdir(parents=True, exist_ok=True)
    store = Store.open(data / "shots.sqlite3")
    seed_store(store, n=900, samples_for=12)

    def shot(window: HistoryWindow, name: str) -> None:
        window.repaint()
        deadline = time.monotonic() + 0.6
        while time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.02)
        subprocess.run(["import", "-window", "root", "-crop", "1200x860+0+0", str(out / f"history-{name}.png")],
                       check=True, timeout=30)

    def open_window(**kw) -> HistoryWindow:
        w = HistoryWindow(**kw)
        w.resize(1200, 860)
        w.move(0, 0)
        w.show()
        return w

    w = open_window(store=store)
    shot(w, "overview")
    w.tabs.setCurrentIndex(1)
    cal = w.calendar
    busiest = max(cal.by_day, key=lambda d: cal.by_day[d][1] + cal.by_day[d][2])
    cal.pick(busiest)
    shot(w, "year")
    w.tabs.setCurrentIndex(0)
    w.clear_filter()
    with_reminder = next(r["session_id"] for r in store.list_reminders() if r["session_id"])
    w.table.setCurrentIndex(w.model.index(w.model.row_of(with_reminder), 0))
    shot(w, "detail")
    w.close()

    empty = Store.open(data / "empty.sqlite3")
    e = open_window(store=empty, on_start_session=lambda: None)
    shot(e, "empty")
    e.close()

    app.setPalette(_dark_palette())
    d = open_window(store=store)
    d.range_combo.setCurrentIndex(1)
    d.table.setCurrentIndex(d.model.index(d.model.row_of(with_reminder), 0))
    shot(d, "dark")
    d.close()
    app.setPalette(app.style().standardPalette())

    i18n.set_language("fr")
    f = open_window(store=store)
    f.table.setCurrentIndex(f.model.index(0, 0))
    shot(f, "fr")
    f.close()
    store.close()
    empty.close()
    return 0


if __name__ == "__main__":
    sys.exit(_main(Path(sys.argv[1])))
