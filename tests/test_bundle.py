"""The packaged app. Slow tests build the real PyInstaller bundle with scripts/package.sh (once
per test run) and use it as a person would: `doctor --json`, the tray on a real X desktop, the
release archive installed with its install.sh. Fast tests check install.sh on a stand-in bundle
and that every installer agrees with the app (Run key, AppUserModelID, LaunchAgent, autostart).

RAISON_GARDER_BUNDLE_DIST=<dist folder> reuses a bundle built just before (e.g. by
`make package` in the same CI job) instead of building one.
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import plistlib
import re
import shutil
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

from tray_app import APP_ID, __version__
from tray_app.system import autostart, paths
from tray_app.system.instance import send_command

ROOT = Path(__file__).resolve().parents[1]
INSTALLERS = ROOT / "installers"
INSTALL_SH = INSTALLERS / "linux" / "install.sh"
RESOURCES = paths.resources_dir()  # the source checkout's
BUILD_TIMEOUT_S = 420  # a cold pip cache downloads PySide6 (~100 MB) and PyInstaller
UNPACKED_BUDGET_MB = 100  # measured 87 MB (benchmarks/results_bundle.md); naive was 163 MB
ICU_DATA_BUDGET_MB = 10  # libicudata reduced to root + en + fr (installers/linux/icu_data.py): 8 MB
# What the tray uses of Qt; anything else in the bundle is dead weight (see bundle_trim.py).
QT_LIBS_ALLOWED = {"Core", "Gui", "Widgets", "DBus", "XcbQpa", "Svg"}
QT_PLUGINS_NEEDED = {
    "platforms/libqxcb.so", "platforms/libqoffscreen.so",
    "imageformats/libqsvg.so", "iconengines/libqsvgicon.so",
}
DOCKED_W = 20  # trayer's panel: 2 px empty, ~24 px with one icon

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="the bundle tests build and run the Linux package")


@dataclass(frozen=True)
class Built:
    bundle: Path
    tarball: Path
    work: Path | None = None  # PyInstaller's work folder, when this run built the bundle

    @property
    def exe(self) -> Path:
        return self.bundle / APP_ID


def _archive_name() -> str:
    return f"{APP_ID}-{__version__}-linux-{platform.machine()}"


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The bundle and the .tar.gz, built once per test run into temp folders (dist/ untouched)."""
    if not sys.platform.startswith("linux"):
        pytest.skip("the bundle tests build the Linux package")
    reuse = os.environ.get("RAISON_GARDER_BUNDLE_DIST")
    work: Path | None = None
    if reuse:
        dist = Path(reuse)
    else:
        if shutil.which("bash") is None or shutil.which("tar") is None:
            pytest.skip("bash and tar are needed to build the package")
        dist = tmp_path_factory.mktemp("dist")
        work = tmp_path_factory.mktemp("package-work")
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAISON_GARDER_")}
        env.update(PACKAGE_DIST=str(dist), PACKAGE_WORK=str(work))
        log = work / "package.log"
        with log.open("w", encoding="utf-8") as out:
            try:
                proc = subprocess.run(["bash", str(ROOT / "scripts" / "package.sh")], cwd=ROOT,
                                      env=env, stdout=out, stderr=subprocess.STDOUT,
                                      timeout=BUILD_TIMEOUT_S, check=False)
            except subprocess.TimeoutExpired:
                pytest.fail(f"scripts/package.sh took over {BUILD_TIMEOUT_S} s; log: {log}")
        tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
        if proc.returncode == 3:  # the script's code for "no build environment" (no PyPI)
            pytest.skip(f"PyInstaller's build environment could not be made:\n{tail}")
        assert proc.returncode == 0, f"scripts/package.sh failed:\n{tail}"
    result = Built(dist / APP_ID, dist / f"{_archive_name()}.tar.gz", work)
    assert result.exe.is_file(), f"no bundled executable in {result.bundle}"
    return result


def _tree_size(folder: Path) -> int:
    return sum(p.lstat().st_size for p in folder.rglob("*"))


def _run(args: list[str], env: dict[str, str] | None = None,
         **extra_env: str) -> subprocess.CompletedProcess[str]:
    """Run with `env` (default: ours) plus `extra_env`, in a UTF-8 locale: a frozen Python does
    no C-locale coercion, and Qt would complain about "C" on stderr."""
    full = dict(os.environ if env is None else env, LC_ALL="C.UTF-8", **extra_env)
    return subprocess.run(args, capture_output=True, text=True, timeout=60, env=full, check=False)


# ---- the bundle itself (slow: it is built once) ---------------------------------------------
@pytest.mark.slow
@pytest.mark.timeout(BUILD_TIMEOUT_S + 120)
def test_bundle_holds_the_app_and_only_the_qt_it_uses(built: Built):
    internal = built.bundle / "_internal"
    shipped = internal / "tray_app" / "resources"
    for sub in ("i18n/fr", "icons"):
        want = sorted(p.name for p in (RESOURCES / sub).iterdir())
        assert sorted(p.name for p in (shipped / sub).iterdir()) == want, sub

    qt = internal / "PySide6" / "Qt"
    libs = {m.group(1) for p in (qt / "lib").iterdir()
            if (m := re.fullmatch(r"libQt6(\w+)\.so\.6", p.name))}
    assert {"Core", "Gui", "Widgets", "XcbQpa", "Svg"} <= libs
    assert libs <= QT_LIBS_ALLOWED, f"unused Qt libraries bundled: {libs - QT_LIBS_ALLOWED}"
    plugins = {str(p.relative_to(qt / "plugins")) for p in (qt / "plugins").rglob("*.so")}
    assert QT_PLUGINS_NEEDED <= plugins
    assert not {p for p in plugins if p.split("/")[0] in {"egldeviceintegrations", "generic",
                "networkinformation", "tls", "sqldrivers", "qmltooling", "printsupport"}}
    assert "imageformats/libqpdf.so" not in plugins  # it alone would pull QtPdf in
    assert sorted(p.name for p in (qt / "translations").iterdir()) == ["qtbase_fr.qm"]

    # Every tray_app module is inside, also those only imported by name or on a menu click.
    if built.work is not None:
        toc = (built.work / "pyinstaller" / APP_ID / "PYZ-00.toc").read_text(encoding="utf-8")
        bundled = set(re.findall(r"'(tray_app(?:\.\w+)*)'", toc))
        package = ROOT / "tray_app"
        sources = {".".join(("tray_app", *p.relative_to(package).with_suffix("").parts))
                   .removesuffix(".__init__") for p in package.rglob("*.py")}
        assert sources - {"tray_app.__main__"} <= bundled, sources - bundled

    size_mb = _tree_size(built.bundle) / 1e6
    assert size_mb < UNPACKED_BUDGET_MB, f"bundle grew to {size_mb:.0f} MB"


@pytest.mark.slow
@pytest.mark.timeout(BUILD_TIMEOUT_S + 120)
def test_release_archive_has_bundle_installer_menu_entry_and_icon(built: Built):
    top = _archive_name()
    with tarfile.open(built.tarball) as tar:
        members = {m.name: m for m in tar.getmembers()}
    for name in (f"{top}/{APP_ID}", f"{top}/install.sh",
                 f"{top}/share/applications/{APP_ID}.desktop",
                 f"{top}/share/icons/hicolor/scalable/apps/{APP_ID}.svg",
                 f"{top}/_internal/tray_app/resources/i18n/fr/core.json"):
        assert name in members, name
    assert members[f"{top}/install.sh"].mode & 0o111
    assert members[f"{top}/{APP_ID}"].mode & 0o111
    assert {m.uid for m in members.values()} == {0}  # no build machine user ids


# Run against the bundle's own Qt and ICU libraries (LD_LIBRARY_PATH outranks the bindings'
# RUNPATH): what the History window and the settings rely on in French.
_QT_FRENCH = r"""
import json
from PySide6.QtCore import QCollator, QDate, QLocale, QTimeZone
fr = QLocale(QLocale.Language.French, QLocale.Country.France)
words = ["zèbre", "Été", "éclair", "abricot", "Écureuil", "côte", "cote", "Zoé"]
maps = open("/proc/self/maps", encoding="utf-8").read()
print(json.dumps({
    "sorted": sorted(words, key=QCollator(fr).sortKey),
    "sorted_ca": sorted(["côté", "coté", "côte", "cote"], key=QCollator(QLocale("fr_CA")).sortKey),
    "date": fr.toString(QDate(2026, 12, 1), "dddd d MMMM yyyy"),
    "upper": fr.toUpper("l'été à Noël"),
    "zone": QTimeZone(b"Europe/Paris").displayName(
        QTimeZone.TimeType.StandardTime, QTimeZone.NameType.LongName, fr),
    "icu": sorted({line.split()[-1] for line in maps.splitlines() if "libicudata" in line}),
}))
"""


@pytest.mark.slow
@pytest.mark.timeout(BUILD_TIMEOUT_S + 120)
def test_bundled_icu_is_reduced_and_french_sorting_dates_and_case_still_work(built: Built):
    qt_lib = built.bundle / "_internal" / "PySide6" / "Qt" / "lib"
    icu = sorted(qt_lib.glob("libicudata.so.*"))
    assert icu, "no ICU data library in the bundle"
    assert icu[0].stat().st_size / 1e6 < ICU_DATA_BUDGET_MB, "ICU's data was not reduced"
    done = _run([sys.executable, "-c", _QT_FRENCH], LD_LIBRARY_PATH=str(qt_lib),
                QT_QPA_PLATFORM="offscreen")
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    assert got["icu"] == [str(icu[0])]  # the bundle's reduced data, not the wheel's
    # ICU collation: accents sort with their letter (a plain code-point sort puts É after z).
    assert got["sorted"] == ["abricot", "cote", "côte", "éclair", "Écureuil", "Été", "zèbre", "Zoé"]
    # Canadian French's tailoring (accents compared from the end) is still in the data.
    assert got["sorted_ca"] == ["cote", "côte", "coté", "côté"]
    assert got["date"] == "mardi 1 décembre 2026"
    assert got["upper"] == "L'ÉTÉ À NOËL"
    assert got["zone"] == "heure normale d’Europe centrale"


@pytest.mark.slow
@pytest.mark.timeout(BUILD_TIMEOUT_S + 120)
def test_bundled_cli_runs_doctor_and_speaks_french(built: Built, isolated_dirs):
    doctor = _run([str(built.exe), "doctor", "--json"])
    assert doctor.returncode == 0, doctor.stderr
    report = json.loads(doctor.stdout)
    assert report["data_dir"] == str(isolated_dirs["data"])
    assert "Traceback" not in doctor.stderr

    version = _run([str(built.exe), "--version"])
    assert version.stdout.strip() == f"Raison Garder {__version__}"

    # Commands are imported by name: the bundle offers exactly the source tree's commands.
    ours = _run([str(built.exe), "--help"], COLUMNS="100")
    source = _run([sys.executable, "-m", "tray_app", "--help"], COLUMNS="100", PYTHONPATH=str(ROOT))
    assert ours.returncode == 0 and ours.stdout == source.stdout

    # The translations are found inside the bundle (resources_dir() beside the package).
    # Read through i18n.catalogue: it applies French typography (’, no-break spaces) as the app does.
    from tray_app.system import i18n
    french = i18n.catalogue("fr")[
        "Measure the energy of local AI image generation, and keep a sense of measure."]
    helped = _run([str(built.exe), "--help"], LANGUAGE="fr")
    assert " ".join(french.split()) in " ".join(helped.stdout.split())


@pytest.mark.slow
@pytest.mark.xvfb
@pytest.mark.timeout(BUILD_TIMEOUT_S + 120)
def test_bundled_tray_docks_stays_up_and_quits_cleanly(built: Built, x_desktop, isolated_dirs,
                                                       tmp_path):
    env = x_desktop.env(XDG_CONFIG_HOME=str(tmp_path / "xdg"), LANGUAGE="en", LC_ALL="C.UTF-8")
    proc = subprocess.Popen([str(built.exe)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert x_desktop.wait_for(lambda: (x_desktop.panel_width() or 0) >= DOCKED_W, 15), (
            "the bundled tray never docked in trayer"
        )
        time.sleep(3)
        assert proc.poll() is None, "the bundled tray ended by itself"
        assert (x_desktop.panel_width() or 0) >= DOCKED_W
        x_desktop.screenshot(tmp_path / "bundle-tray.png", copy_as="bundle-tray.png")
        assert send_command("quit", isolated_dirs["data"])
        _out, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    # The first run turned start at login on, pointing at the bundled executable itself.
    entry = (tmp_path / "xdg" / "autostart" / f"{APP_ID}.desktop").read_text(encoding="utf-8")
    assert f"Exec={autostart._desktop_quote(str(built.exe))}\n" in entry
    icon = re.search(r"^Icon=(.+)$", entry, re.M)
    assert icon and Path(icon.group(1)).is_file()


@pytest.mark.slow
@pytest.mark.timeout(BUILD_TIMEOUT_S + 120)
def test_release_archive_installs_runs_and_uninstalls(built: Built, tmp_path):
    unpacked = tmp_path / "unpacked"
    unpacked.mkdir()
    subprocess.run(["tar", "-xzf", str(built.tarball), "-C", str(unpacked)], check=True)
    home = tmp_path / "home"
    env = _user_env(home)
    installed = _run(["bash", str(unpacked / _archive_name() / "install.sh")], env=env)
    assert installed.returncode == 0, installed.stderr
    launcher = home / ".local" / "bin" / APP_ID
    doctor = _run([str(launcher), "doctor", "--json"], env=env)
    assert doctor.returncode == 0, doctor.stderr
    data_dir = Path(json.loads(doctor.stdout)["data_dir"])
    assert data_dir == home / ".local/share" / APP_ID
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "history.sqlite3").write_text("mine", encoding="utf-8")
    removed = _run([str(home / ".local/opt" / APP_ID / "install.sh"), "--uninstall"], env=env)
    assert removed.returncode == 0, removed.stderr
    assert not (home / ".local/opt" / APP_ID).exists() and not launcher.is_symlink()
    assert (data_dir / "history.sqlite3").read_text(encoding="utf-8") == "mine"


# ---- install.sh on a stand-in bundle (fast) -------------------------------------------------
def _user_env(home: Path) -> dict[str, str]:
    """A user whose home is `home`, with the XDG and data folder defaults (no real hardware
    still: the sensor overrides from conftest stay)."""
    dropped = {"RAISON_GARDER_DATA_DIR", "RAISON_GARDER_CONFIG_DIR", "SUDO_USER"}
    env = {k: v for k, v in os.environ.items() if k not in dropped and not k.startswith("XDG_")}
    env["HOME"] = str(home)
    return env


def _fake_release(folder: Path) -> Path:
    """The release archive's layout, with a shell script standing in for the executable."""
    (folder / "_internal" / "tray_app" / "resources" / "icons").mkdir(parents=True)
    shutil.copy(RESOURCES / "icons/raison-garder.svg", folder / "_internal/tray_app/resources/icons")
    exe = folder / APP_ID
    exe.write_text('#!/bin/sh\necho "stand-in $*"\n', encoding="utf-8")
    exe.chmod(0o755)
    (folder / "share/applications").mkdir(parents=True)
    shutil.copy(INSTALLERS / "linux/raison-garder.desktop", folder / "share/applications")
    (folder / "share/icons/hicolor/scalable/apps").mkdir(parents=True)
    shutil.copy(RESOURCES / "icons/raison-garder.svg", folder / "share/icons/hicolor/scalable/apps")
    shutil.copy(INSTALL_SH, folder / "install.sh")
    # What package.sh generates: the manual pages and the shell completions.
    for rel in (f"share/man/man1/{APP_ID}.1", f"share/man/fr/man1/{APP_ID}.1",
                f"share/bash-completion/completions/{APP_ID}",
                f"share/fish/vendor_completions.d/{APP_ID}.fish"):  # fmt: skip
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(rel, encoding="utf-8")
    return folder


INSTALLED_DOCS = (
    f".local/share/man/man1/{APP_ID}.1", f".local/share/man/fr/man1/{APP_ID}.1",
    f".local/share/bash-completion/completions/{APP_ID}",
    f".local/share/fish/vendor_completions.d/{APP_ID}.fish",
)  # fmt: skip


def _install(home: Path, *args: str, source: Path | None = None) -> subprocess.CompletedProcess[str]:
    cmd = ["bash", str(INSTALL_SH), *args]
    if source is not None:
        cmd += ["--from", str(source)]
    return _run(cmd, env=_user_env(home))


@linux_only
def test_install_sh_installs_for_the_user_with_menu_icon_and_autostart(tmp_path, monkeypatch):
    home = tmp_path / "my home"  # a space: every Exec= line must be quoted as the spec says
    release = _fake_release(tmp_path / "release")
    done = _install(home, "--autostart", source=release)
    assert done.returncode == 0, done.stderr

    opt = home / ".local/opt" / APP_ID
    launcher = home / ".local/bin" / APP_ID
    assert launcher.resolve() == (opt / APP_ID).resolve()
    assert _run([str(launcher), "doctor"]).stdout.strip() == "stand-in doctor"
    assert (home / ".local/share/icons/hicolor/scalable/apps" / f"{APP_ID}.svg").is_file()
    for rel in INSTALLED_DOCS:  # `man raison-garder` and Tab completion work after install
        assert (home / rel).is_file(), rel
    menu = (home / ".local/share/applications" / f"{APP_ID}.desktop").read_text(encoding="utf-8")
    assert f"Exec={autostart._desktop_quote(str(opt / APP_ID))}\n" in menu
    assert "Icon=raison-garder\n" in menu

    # The autostart entry is byte for byte what the app's own "Start at login" writes, so the
    # tray menu shows it ticked and can switch it off.
    monkeypatch.setattr("tray_app.system.paths.resources_dir",
                        lambda: opt / "_internal" / "tray_app" / "resources")
    reference = autostart.XdgAutostart(tmp_path / "reference")
    reference.enable([str(opt / APP_ID)])
    written = home / ".config/autostart" / f"{APP_ID}.desktop"
    assert written.read_text(encoding="utf-8") == reference.path.read_text(encoding="utf-8")
    assert autostart.XdgAutostart(written.parent).is_enabled()


@linux_only
def test_uninstall_keeps_the_history_unless_asked_to_remove_it(tmp_path):
    home = tmp_path / "home"
    release = _fake_release(tmp_path / "release")
    assert _install(home, "--autostart", source=release).returncode == 0
    history = home / ".local/share" / APP_ID / "history.sqlite3"
    settings = home / ".config" / APP_ID / "settings.json"
    for path in (history, settings):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("mine", encoding="utf-8")

    kept = _install(home, "--uninstall")
    assert kept.returncode == 0, kept.stderr
    assert not (home / ".local/opt" / APP_ID).exists()
    assert not (home / ".local/bin" / APP_ID).is_symlink()
    assert not (home / ".local/share/applications" / f"{APP_ID}.desktop").exists()
    assert not (home / ".config/autostart" / f"{APP_ID}.desktop").exists()
    assert not any((home / rel).exists() for rel in INSTALLED_DOCS)
    assert history.read_text(encoding="utf-8") == "mine" and settings.exists()
    assert "kept" in kept.stdout

    assert _install(home, source=release).returncode == 0
    gone = _install(home, "--uninstall", "--remove-data")
    assert gone.returncode == 0, gone.stderr
    assert not history.exists() and not settings.exists()


@linux_only
def test_uninstall_first_stops_the_installed_tray(tmp_path):
    home = tmp_path / "home"
    release = _fake_release(tmp_path / "release")
    sleeper = shutil.which("sleep")
    if sleeper is None:
        pytest.skip("no sleep binary to stand in for the tray")
    shutil.copy(sleeper, release / APP_ID)  # a real binary: /proc/<pid>/exe is then our file
    assert _install(home, source=release).returncode == 0
    tray = subprocess.Popen([str(home / ".local/opt" / APP_ID / APP_ID), "60"])
    try:
        data_dir = home / ".local/share" / APP_ID
        data_dir.mkdir(parents=True)
        (data_dir / "instance.json").write_text(json.dumps({"pid": tray.pid}), encoding="utf-8")
        done = _install(home, "--uninstall")
        assert done.returncode == 0, done.stderr
        assert tray.wait(5) == -15  # SIGTERM: the real tray closes its session and leaves
        assert f"pid {tray.pid}" in done.stdout
    finally:
        if tray.poll() is None:
            tray.kill()
            tray.wait()


@linux_only
def test_uninstall_leaves_another_installs_launcher_alone(tmp_path):
    home = tmp_path / "home"
    assert _install(home, source=_fake_release(tmp_path / "release")).returncode == 0
    pipx_script = tmp_path / "pipx-venv" / APP_ID
    pipx_script.parent.mkdir()
    pipx_script.write_text("#!/bin/sh\n", encoding="utf-8")
    launcher = home / ".local/bin" / APP_ID
    launcher.unlink()
    launcher.symlink_to(pipx_script)
    assert _install(home, "--uninstall").returncode == 0
    assert launcher.is_symlink() and launcher.resolve() == pipx_script


@linux_only
def test_install_sh_refuses_a_folder_without_a_bundle(tmp_path):
    home = tmp_path / "home"
    empty = tmp_path / "empty"
    empty.mkdir()
    done = _install(home, source=empty)
    assert done.returncode == 1
    assert "no raison-garder bundle" in done.stderr
    assert not (home / ".local/opt").exists()
    assert _install(home, "--remove-data").returncode == 2  # only meaningful with --uninstall


# ---- the installers agree with the app (fast) -----------------------------------------------
def test_windows_installer_uses_the_apps_run_value_and_app_user_model_id():
    iss = (INSTALLERS / "windows/raison-garder.iss").read_text(encoding="utf-8")
    defines = dict(re.findall(r'^#define (\w+) "([^"]*)"', iss, re.M))
    app_py = (ROOT / "tray_app/ui/app.py").read_text(encoding="utf-8")
    app_id = re.search(r'WINDOWS_APP_USER_MODEL_ID = "([^"]+)"', app_py)
    assert app_id and defines["AppUserModelID"] == app_id.group(1)
    assert defines["RunKey"] == autostart.RUN_KEY
    assert defines["RunValue"] == autostart.RUN_VALUE
    assert defines["AppExe"] == f"{APP_ID}.exe"
    # Where platformdirs puts the data on Windows (appauthor=False: no vendor folder).
    assert defines["DataFolder"] == "{localappdata}\\" + APP_ID
    # Unticking "start at login" leaves the app's first-run marker in that folder.
    assert f"Folder + '\\{autostart.FIRST_RUN_MARKER}'" in iss


def test_macos_launch_agent_and_bundle_id_match_the_app(tmp_path):
    shipped = plistlib.loads((INSTALLERS / "macos/org.raison-garder.tray.plist").read_bytes())
    agent = autostart.MacLaunchAgent(tmp_path)
    agent.enable(shipped["ProgramArguments"])
    assert plistlib.loads(agent.path.read_bytes()) == shipped
    assert agent.path.name == f"{autostart.MAC_LABEL}.plist"
    spec = (INSTALLERS / "raison-garder.spec").read_text(encoding="utf-8")
    assert f'MAC_BUNDLE_ID = "{autostart.MAC_LABEL}"' in spec
    assert '"LSUIElement": True' in spec


def test_menu_entry_is_a_valid_desktop_file():
    validator = shutil.which("desktop-file-validate")
    if validator is None:
        pytest.skip("desktop-file-validate is not installed (Debian: desktop-file-utils)")
    checked = _run([validator, str(INSTALLERS / "linux/raison-garder.desktop")])
    assert checked.returncode == 0, checked.stdout + checked.stderr


# ---- bundle_trim's choices (fast) -----------------------------------------------------------
def _bundle_trim() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bundle_trim", INSTALLERS / "bundle_trim.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_trim_keeps_the_plugins_the_app_needs_and_drops_the_heavy_ones():
    trim = _bundle_trim()
    kept = trim._plugin_kept
    p = trim.PurePosixPath
    assert kept(p("PySide6/Qt/plugins/platforms/libqxcb.so"))
    assert kept(p("PySide6/plugins/platforms/qwindows.dll"))  # Windows layout
    assert kept(p("PySide6/Qt/plugins/imageformats/libqsvg.so"))
    assert kept(p("PySide6/Qt/plugins/styles/libqmodernwindowsstyle.so"))
    assert kept(p("PySide6/Qt/plugins/imageformats/libqpdf.so")) is False
    assert kept(p("PySide6/Qt/plugins/platforminputcontexts/libqtvirtualkeyboardplugin.so")) is False
    assert kept(p("PySide6/Qt/plugins/platformthemes/libqgtk3.so")) is False
    assert kept(p("PySide6/Qt/plugins/wayland-shell-integration/libxdg-shell.so")) is False
    assert kept(p("PySide6/Qt/lib/libQt6Core.so.6")) is None  # not a plugin: left to the closure
    assert trim._translation_kept(p("PySide6/Qt/translations/qtbase_fr.qm"), ["fr"])
    assert trim._translation_kept(p("PySide6/Qt/translations/qtbase_de.qm"), ["fr"]) is False
    assert trim._translation_kept(p("PySide6/Qt/translations/qt_fr.qm"), ["fr"]) is False
    assert trim.unused_qt_modules({"QtCore", "QtGui", "QtWidgets"}) and "QtGui" not in (
        trim.unused_qt_modules({"QtCore"})
    )
