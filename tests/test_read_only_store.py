"""A valid store in a folder the user cannot write (a read-only mount, a backup): `sessions`,
`export` and the History window still read it; a write says why it cannot be done."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tray_app.store import Store

T0 = 1_750_000_000.0
REPO = Path(__file__).resolve().parents[1]
# Root ignores permission bits: without these capabilities it obeys them like anyone else.
AS_ROOT_WITHOUT_OVERRIDE = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search,-fowner"]


def runner() -> list[str]:
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: a read-only folder cannot be simulated")
    return AS_ROOT_WITHOUT_OVERRIDE


@pytest.fixture
def read_only_store(isolated_dirs):
    data = isolated_dirs["data"]
    with Store.open() as store:
        sid = store.open_session("comfyui", "python", [1], [0], T0)
        store.add_samples(sid, [(T0 + i, 200.0, 20.0, 1) for i in range(31)])
        store.close_session(sid, T0 + 30)
    for f in data.iterdir():
        f.chmod(0o400)
    data.chmod(0o500)
    yield data
    data.chmod(0o700)


def run(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([*runner(), sys.executable, *args], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "PYTHONPATH": str(REPO), **env})


def test_sessions_and_export_read_a_store_in_a_read_only_folder(read_only_store):
    listed = run("-m", "tray_app", "sessions", "--json")
    assert listed.returncode == 0, listed.stderr
    [s] = json.loads(listed.stdout)
    assert s["tool"] == "comfyui" and s["gpu_wh"] == pytest.approx(200 * 30 / 3600)
    exported = run("-m", "tray_app", "export", "--format", "csv")
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.count("\n") == 2 and "comfyui" in exported.stdout
    assert sorted(p.name for p in read_only_store.iterdir()) == ["raison-garder.sqlite3"]


def test_the_history_window_reads_a_store_in_a_read_only_folder(read_only_store):
    code = (
        "from tray_app.ui.history.window import HistoryWindow\n"
        "from PySide6.QtWidgets import QApplication\n"
        "app = QApplication([])\n"
        "w = HistoryWindow()\n"
        "assert w.problem is None, w.problem\n"
        "assert w.store.read_only and len(w.store.list_sessions()) == 1\n"
        "print('ok')\n"
    )
    shown = run("-c", code, QT_QPA_PLATFORM="offscreen")
    assert shown.returncode == 0 and shown.stdout.strip() == "ok", shown.stderr


def test_an_import_into_a_read_only_store_says_why_and_changes_nothing(read_only_store, tmp_path):
    source = tmp_path / "in.json"
    source.write_text(json.dumps([{"tool": "a1111", "start_ts": T0 + 100, "end_ts": T0 + 160,
                                   "gpu_wh": 1.0, "cpu_wh": 0.1}]))
    source.chmod(0o644)
    tmp_path.chmod(0o755)
    imported = run("-m", "tray_app", "import", str(source))
    assert imported.returncode == 1 and "Traceback" not in imported.stderr
    assert str(read_only_store) in imported.stderr and "writable" in imported.stderr
