"""Screenshots of the Reminders tab on a real X server (Xvfb), for a human to look at: English
and French, light and dark, at 100 % and 150 % (`QT_SCALE_FACTOR=1.5`), with a seeded history
and with none (issue 19). Each child process also checks that no label is clipped and nothing
needs a sideways scroll, on the real display at that scale.

The window runs in a child process per scale on the xcb platform (pytest's own QApplication is
offscreen); the child takes each screenshot itself with ImageMagick's `import`.
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
LANGS = ("en", "fr")
THEMES = ("light", "dark")
HISTORIES = ("seeded", "empty")
SCALES = {"100": "1", "150": "1.5"}


def shot_name(lang: str, theme: str, scale: str, history: str) -> str:
    return f"settings-reminders-{lang}-{theme}-{scale}-{history}.png"


@pytest.mark.xvfb
@pytest.mark.slow
def test_the_reminders_tab_is_painted_in_both_languages_themes_and_sizes(tmp_path):
    from tests.fixtures.xvfb import run_shots_child, shots_display
    from tests.ui.test_history_shots import _changed, _luma, _pixels

    with shots_display("1920x1200x24") as desktop:
        for scale, factor in SCALES.items():
            proc = run_shots_child(desktop, "tests.ui.test_settings_shots", tmp_path, scale,
                                   timeout=180, config=f"config-{scale}", QT_SCALE_FACTOR=factor)  # fmt: skip
            assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    SHOTS_DIR.mkdir(parents=True, exist_ok=True)
    for whole in (tmp_path / "shots").glob("*-whole.png"):  # every row of the tab, for review
        shutil.copyfile(whole, SHOTS_DIR / whole.name)
    names = [shot_name(lang, theme, scale, history) for lang in LANGS for theme in THEMES
             for scale in SCALES for history in HISTORIES]  # fmt: skip
    px = {}
    for name in names:
        shot = tmp_path / "shots" / name
        assert shot.exists(), name
        shutil.copyfile(shot, SHOTS_DIR / name)
        px[name] = _pixels(shot)
        assert len(set(px[name])) > 30, f"{name}: a flat screen, nothing drawn?"
        if "-dark-" in name:
            assert _luma(px[name]) < 0.35, f"{name}: the dark palette was not applied"
        else:
            assert _luma(px[name]) > 0.6, f"{name}: not the light window"
    # The history is visible: a seeded tab and an empty one differ, as do the two languages.
    for lang in LANGS:
        seeded = px[shot_name(lang, "light", "100", "seeded")]
        assert _changed(seeded, px[shot_name(lang, "light", "100", "empty")]) > 0.005
    assert _changed(px[shot_name("en", "light", "100", "seeded")],
                    px[shot_name("fr", "light", "100", "seeded")]) > 0.01  # fmt: skip


# ---- the child process ------------------------------------------------------------------------
def _main(out: Path, scale: str) -> int:
    os.environ["QT_QPA_PLATFORM"] = "xcb"  # tests/ui/__init__ asked for offscreen
    import time

    from PySide6.QtWidgets import QApplication

    from tests.fixtures.history_store import seed_store
    from tests.ui.test_history_shots import _dark_palette
    from tests.ui.test_settings_reminders import _clipped
    from tray_app.reminders.past import Past
    from tray_app.store import Store
    from tray_app.store.db import default_path
    from tray_app.system import i18n
    from tray_app.ui.settings.dialog import SettingsDialog, read_history
    from tray_app.ui.settings.rule_notes import History
    from tray_app.ui.translator import install_translators

    out.mkdir(parents=True, exist_ok=True)
    app = QApplication(["raison-garder"])
    app.setStyle("Fusion")
    path = default_path()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        store = Store.open(path)
        seed_store(store, n=900, samples_for=0)
        store.close()
    problems: list[str] = []

    def shot(dlg: SettingsDialog, name: str) -> None:
        dlg.repaint()
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.02)
        ratio = dlg.devicePixelRatioF()
        w, h = round(dlg.width() * ratio), round(dlg.height() * ratio)
        subprocess.run(["import", "-window", "root", "-crop", f"{w}x{h}+0+0", str(out / name)],
                       check=True, timeout=30)  # fmt: skip
        page = dlg.tabs.currentWidget().widget()
        page.grab().save(str(out / name.replace(".png", "-whole.png")))  # every row, for review

    translators = []
    for lang in LANGS:
        i18n.set_language(lang)
        translators = install_translators(app)  # noqa: F841 - must live while the window does
        for theme in THEMES:
            app.setPalette(_dark_palette() if theme == "dark" else app.style().standardPalette())
            for history in HISTORIES:
                data = read_history() if history == "seeded" else History(Past(time.time(), ()))
                dlg = SettingsDialog(None, autostart=None, history=data)
                dlg.move(0, 0)
                dlg.show()
                dlg.tabs.setCurrentIndex(1)
                notes = dlg.notes["session_energy"]
                if history == "seeded":  # show a suggestion, as after a click
                    notes.suggest_button.click()
                problems += [f"{lang}/{theme}/{scale}/{history}: {p}" for p in _clipped(dlg)]
                dlg.tabs.setCurrentIndex(1)
                shot(dlg, shot_name(lang, theme, scale, history))
                dlg.close()
                dlg.deleteLater()
    print("\n".join(problems))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(_main(Path(sys.argv[1]), sys.argv[2]))
