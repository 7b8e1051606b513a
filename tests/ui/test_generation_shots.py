"""Screenshots of the generations views on a real X server (Xvfb), for a human to look at: a
session's detail (its generations listed and marked on the curve) and "What costs what", in
English and French, and "What costs what" in a dark theme.

Shots land in $RG_SHOTS_DIR (default /tmp/rg-shots/generations), outside the repository.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VIEWS = ("detail-en", "costs-en", "detail-fr", "costs-fr", "costs-dark")


@pytest.mark.xvfb
@pytest.mark.slow
def test_generation_views_are_painted_on_a_real_display(tmp_path):
    from tests.fixtures.xvfb import run_shots_child, shots_display

    with shots_display() as desktop:
        proc = run_shots_child(desktop, "tests.ui.test_generation_shots", tmp_path, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = Path(os.environ.get("RG_SHOTS_DIR", "/tmp/rg-shots/generations"))
    out.mkdir(parents=True, exist_ok=True)
    for view in VIEWS:
        shot = tmp_path / "shots" / f"generations-{view}.png"
        assert shot.exists(), view
        assert shot.stat().st_size > 60_000, f"{view}: nothing drawn?"
        shutil.copyfile(shot, out / shot.name)


# ---- the child process ------------------------------------------------------------------------
def _main(out: Path) -> int:
    os.environ["QT_QPA_PLATFORM"] = "xcb"  # tests/ui/__init__ asked for offscreen
    import time

    from PySide6.QtWidgets import QApplication

    from tests.fixtures.history_store import seed_generations, seed_store
    from tests.ui.test_history_shots import _dark_palette
    from tray_app.store import Store
    from tray_app.system import i18n
    from tray_app.ui.history.window import HistoryWindow

    out.mkdir(parents=True, exist_ok=True)
    app = QApplication(["raison-garder"])
    app.setStyle("Fusion")
    data = Path(os.environ["RAISON_GARDER_DATA_DIR"])
    data.mkdir(parents=True, exist_ok=True)
    store = Store.open(data / "shots.sqlite3")
    seed_store(store, n=400, samples_for=8)
    seed_generations(store, per_session=40)

    def shot(window: HistoryWindow, name: str) -> None:
        window.repaint()
        deadline = time.monotonic() + 0.6
        while time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.02)
        subprocess.run(["import", "-window", "root", "-crop", "1200x860+0+0",
                        str(out / f"generations-{name}.png")], check=True, timeout=30)

    def open_window() -> HistoryWindow:
        w = HistoryWindow(store=store)
        w.resize(1200, 860)
        w.move(0, 0)
        w.show()
        return w

    def with_generations(w: HistoryWindow) -> int:
        for row in range(w.model.rowCount()):
            s = w.model.session(row)
            if s["tool"] == "comfyui" and store.session_curve(s["id"]) and store.list_generations(
                session_id=s["id"]
            ):
                return row
        raise AssertionError("no recent ComfyUI session with readings")

    for lang in ("en", "fr"):
        i18n.set_language(lang)
        w = open_window()
        w.table.setCurrentIndex(w.model.index(with_generations(w), 0))
        w.detail.pages.setCurrentIndex(1)
        shot(w, f"detail-{lang}")
        w.tabs.setCurrentWidget(w.costs)
        w.close_detail()
        shot(w, f"costs-{lang}")
        w.close()
    i18n.set_language("en")
    app.setPalette(_dark_palette())
    d = open_window()
    d.tabs.setCurrentWidget(d.costs)
    shot(d, "costs-dark")
    d.close()
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(_main(Path(sys.argv[1])))
